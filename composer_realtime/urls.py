from django.contrib import admin
from django.urls import include, path

from composer_realtime import views

urlpatterns = [
    path("", include("jobs.urls")),
    path("", include("api.urls")),
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
]
