"""The JSON error object of every answer under /api/ that is not a success.

`{"error": "<code>", "detail": "<what a person reads>"}`, with more keys where an endpoint has
more to say (`errors` per field, `retry_after_s`). Programs branch on `error`; `detail` may
change wording.
"""

from http import HTTPStatus

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


def error_body(status: int, detail: str = "", code: str = "") -> dict[str, str]:
    """Return the error object."""
    return {"error": code or code_for(status), "detail": detail or detail_for(status)}


def error_response(status: int, detail: str = "", code: str = "") -> JsonResponse:
    """Return an error answer."""
    response = JsonResponse(error_body(status, detail, code), status=status)
    response["Cache-Control"] = "no-store"
    return response


def unauthorized(detail: str) -> JsonResponse:
    """Return the 401 for a bad, expired or revoked token (RFC 6750's challenge with it)."""
    response = error_response(401, detail)
    response["WWW-Authenticate"] = (
        f'Bearer realm="{REALM}", error="invalid_token", error_description="{detail}"'
    )
    return response
