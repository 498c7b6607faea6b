"""API tokens in the admin: issue one (its secret is shown once, on the page after saving),
list them by the characters they begin with, revoke them."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from api import services
from api.models import ApiToken

_SECRET = "_api_token_secret"  # noqa: S105 - the name of a request attribute


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Issue and revoke tokens; a token's secret is stored nowhere, so it is shown once."""

    list_display = ("name", "user", "shown", "state", "created_at", "expires_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("name", "shown", "user__username")
    raw_id_fields = ("user",)
    actions = ("revoke",)
    add_fields = ("user", "name", "expires_at")

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return self.add_fields
        return (*self.add_fields, "shown", "created_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # A token is never edited: what it grants is fixed when it is issued.
        return () if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm[ApiToken], change: bool
    ) -> None:
        setattr(request, _SECRET, services.token_save_new(token=obj))

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the new token's secret, once, on its own page (never in a message cookie)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the new API token now",
            "token": obj,
            "secret": getattr(request, _SECRET),
        }
        response = TemplateResponse(request, "admin/api/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        """Revoke each selected token (the ones already revoked stay as they were)."""
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(token=token)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
