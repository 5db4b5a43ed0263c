"""Credential sources, each giving a :class:`FrozenCredentials` snapshot.

A signature uses one snapshot (botocore's ``get_frozen_credentials`` race:
key id from one credential set, secret from the next). Anything that can
block runs in a worker thread, single-flight, ahead of expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["CredentialSource", "FrozenCredentials"]


@dataclass(frozen=True, slots=True, repr=False)
class FrozenCredentials:
    """One immutable set of AWS credentials; its repr shows only the key id.

    ``expiry`` is an aware UTC datetime for temporary credentials, else None.
    """

    access_key: str
    secret_key: str
    token: str | None = None
    expiry: datetime | None = None

    def __repr__(self) -> str:
        token = ", token=<redacted>" if self.token else ""
        expiry = f", expiry={self.expiry.isoformat()}" if self.expiry else ""
        return (
            f"FrozenCredentials(access_key={self.access_key!r}, "
            f"secret_key=<redacted>{token}{expiry})"
        )


@runtime_checkable
class CredentialSource(Protocol):
    """Anything that hands out credential snapshots without blocking the loop."""

    async def get_frozen(self) -> FrozenCredentials:
        """Current credentials, refreshed first if they are about to expire."""
        ...

    async def refresh(self) -> FrozenCredentials:
        """Force a refresh (after AppSync said the token expired)."""
        ...
