"""The JSON error object of every answer under /api/ that is not a success.

`{"error": "<code>", "detail": "<what a person reads>"}`, with more keys where an endpoint has
more to say (`errors` per field, `retry_after_s`). Programs branch on `error`; `detail` may
change wording.
"""

from http import HTTPStatus
from typing import Any

from django.http import JsonResponse

CODES: dict[int, str] = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
}
"""The `error` code of each status, when nothing more precise is known."""

REALM = "composer"


def code_for(status: int) -> str:
    """Return the error code of a status (its phrase in snake case if not listed)."""
    if status in CODES:
        return CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def detail_for(status: int) -> str:
    """Return a sentence for a status, when the view gave none."""
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "Error."


def error_body(status: int, /, detail: str = "", code: str = "", **more: Any) -> dict[str, Any]:
    """Return the error object, with `more` keys after `error` and `detail`."""
    return {"error": code or code_for(status), "detail": detail or detail_for(status), **more}


def error_response(
    status: int,
    /,
    detail: str = "",
    code: str = "",
    *,
    retry_after_s: int | None = None,
    **more: Any,
) -> JsonResponse:
    """Return an error answer, never stored; with `retry_after_s`, that key and Retry-After."""
    if retry_after_s is not None:
        more["retry_after_s"] = retry_after_s
    response = JsonResponse(error_body(status, detail, code, **more), status=status)
    response["Cache-Control"] = "no-store"
    if retry_after_s is not None:
        response["Retry-After"] = str(retry_after_s)
    return response


def unauthorized(detail: str) -> JsonResponse:
    """Return the 401 for a bad, expired or revoked token (RFC 6750's challenge with it)."""
    response = error_response(401, detail)
    response["WWW-Authenticate"] = (
        f'Bearer realm="{REALM}", error="invalid_token", error_description="{detail}"'
    )
    return response
