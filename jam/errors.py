"""Errors raised by the application layer (beside the domain's own)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID


class ApplicationError(Exception):
    code: ClassVar[str] = "application_error"


class NotFound(ApplicationError):
    code = "not_found"

    def __init__(self, kind: str, ident: UUID | str) -> None:
        super().__init__(f"no {kind} with id {ident}")
        self.kind = kind


class NotSignedIn(ApplicationError):
    code = "not_signed_in"


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"


class ConcurrentUpdate(ApplicationError):
    """Other writers kept changing the same aggregates; the client may retry."""

    code = "concurrent_update"


class StoreUnavailable(ApplicationError):
    """The event store could not be reached; nothing was recorded."""

    code = "store_unavailable"
