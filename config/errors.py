"""Application errors: what a service raises when it refuses something a person asked for.

Each carries a sentence the person can act on, a stable machine code and the HTTP status the
API answers with. Services raise these (never DRF or Django HTTP exceptions, so a command or
a page can call them too); `config.exceptions.api_exception_handler` turns one into the
API's error body, and pages show `message`.
"""

from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **extra: object
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra


class Refused(AppError):
    """The request conflicts with the current state (409): the last owner, a duplicate."""

    status = 409
    code = "conflict"


class Forbidden(AppError):
    """The caller may not do this (403), whatever the state."""

    status = 403
    code = "permission_denied"
