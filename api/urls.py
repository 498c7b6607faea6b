from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("api/openapi.json", views.openapi_json, name="openapi"),
]
