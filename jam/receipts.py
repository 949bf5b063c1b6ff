"""Receipts make commands idempotent.

A receipt is saved in the same transaction as the command's events and is its
last event, so it exists exactly when the command was recorded, and its log
position is the command's position.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate, event

from jam.commands import Command

RECEIPT_NAMESPACE = UUID("9a7f0d2e-1c4b-4e8a-8f3d-5b6c7d8e9f01")


def receipt_id(actor: UUID | None, client_key: str) -> UUID:
    scope = actor.hex if actor else "-"
    return uuid5(RECEIPT_NAMESPACE, f"{scope}:{client_key}")


def fingerprint(command: Command) -> str:
    """What the command asks, without when it was asked."""
    payload = msgspec.msgpack.encode(msgspec.structs.replace(command, at=None))
    return hashlib.sha256(payload).hexdigest()


class Receipt(Aggregate):
    id: UUID

    @event("Recorded")
    def __init__(self, fingerprint: str, result_id: UUID | None, timestamp: datetime) -> None:
        self.fingerprint = fingerprint
        self.result_id = result_id
