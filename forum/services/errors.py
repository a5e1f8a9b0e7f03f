"""Errors a service raises; the HTTP and Socket.IO adapters turn them into answers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "fields": self.fields}
        body.update(self.extra)
        return body


class ValidationFailed(ServiceError):
    status = 422
    code = "invalid"


class NotAuthenticated(ServiceError):
    status = 401
    code = "not_authenticated"


class Suspended(NotAuthenticated):
    """The right password for a suspended account: the person may read why, and until when."""

    code = "suspended"

    def __init__(self, message: str, *, suspended_until: str, notice_id: int | None, user_id: int) -> None:
        super().__init__(message, suspended_until=suspended_until)
        self.notice_id = notice_id  # the moderators' message saying why; for the sign-in page, not the API
        self.user_id = user_id  # for the sign-in page's pass to the person's own data (accounts.data_pass)


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(message, retry_after=retry_after, **extra)
        self.retry_after = retry_after


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})
