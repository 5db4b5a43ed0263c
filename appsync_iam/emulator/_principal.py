"""An IAM principal known to the emulator (what an access key id maps to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True, repr=False)
class Principal:
    """A key pair the emulator accepts, with an emulated IAM policy.

    ``token``: when set, requests must carry it as ``x-amz-security-token``.
    ``expires_at``: an aware datetime after which the token is expired.
    ``deny``: ``"Type.field"`` names this principal may not use (emulates an
    IAM policy without ``appsync:GraphQL`` on those fields).
    """

    access_key: str
    secret_key: str
    token: str | None = None
    expires_at: datetime | None = None
    deny: frozenset[str] = field(default_factory=frozenset)

    def __repr__(self) -> str:
        return f"Principal(access_key={self.access_key!r}, deny={sorted(self.deny)})"
