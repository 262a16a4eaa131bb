"""Every error the API answers with, and its HTTP status: the one place that maps domain errors to codes.

Route logic raises; ``error_response`` turns any exception into ``(status, ErrorBody)``; unexpected ones
become a 500 with no internals in the body (they are logged by the caller).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from slo_engine.api.models import ErrorBody


class ApiError(Exception):
    status = 500

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequest(ApiError):
    status = 400


class Unauthenticated(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422


class Unavailable(ApiError):
    """A backing service refused or is missing a permission; retrying will not help until it is fixed."""

    status = 503


class Throttled(ApiError):
    status = 429

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def validation_details(error: ValidationError) -> list[str]:
    """``field.path: message`` for each problem, so the caller knows which input was wrong."""
    out = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        out.append(f"{where}: {item['msg']}")
    return out


def error_response(error: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body for any exception raised while answering a request."""
    from slo_engine.embedded.state_store import DecisionError

    if isinstance(error, ApiError):
        body = ErrorBody(message=error.message, details=error.details)
        return error.status, body.model_dump()
    if isinstance(error, ValidationError):
        details = validation_details(error)
        return 422, ErrorBody(message="the request does not match its schema", details=details).model_dump()
    if isinstance(error, DecisionError):
        status = 404 if str(error).startswith("no recommendation") else 409
        return status, ErrorBody(message=str(error)).model_dump()
    return 500, ErrorBody(message="internal error; the request id identifies it in the logs").model_dump()
