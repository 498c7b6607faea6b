"""The API's own views: its OpenAPI document, and the CSRF refusal as a JSON error."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from api.errors import error_response
from api.middleware import is_api
from api.openapi import document


@require_GET
@cache_control(public=True, max_age=300)
def openapi_json(request: HttpRequest) -> JsonResponse:
    """Return the OpenAPI 3.1 document of the API."""
    return JsonResponse(document(), json_dumps_params={"ensure_ascii": False})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Refuse a POST without a valid CSRF token: JSON under /api/, Django's page elsewhere."""
    if not is_api(request):
        return csrf.csrf_failure(request, reason)
    return error_response(
        403,
        f"CSRF verification failed ({reason.rstrip('.')}). A program "
        "should send Authorization: Bearer <token>; a page sends the "
        "csrftoken cookie's value in X-CSRFToken.",
        code="csrf_failed",
    )
