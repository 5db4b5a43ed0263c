"""Credential sources, each giving a :class:`FrozenCredentials` snapshot.

A signature uses one snapshot (botocore's ``get_frozen_credentials`` race:
key id from one credential set, secret from the next). Anything that can
block runs in a worker thread, single-flight, ahead of expiry.

Sources that can change (environment, botocore chain, async callables) share
one caching core, :class:`_RefreshingSource`. Its windows follow botocore's
``RefreshableCredentials``: inside the *advisory* window (15 min before
expiry) one background refresh runs while callers keep the current snapshot;
inside the *mandatory* window (10 min) callers wait for the refresh and its
failure is raised. Credentials that live shorter than that get windows scaled
to their lifetime (half and a quarter of it). A snapshot without an expiry
is kept until a forced :meth:`~_RefreshingSource.refresh`, or, with a
``ttl``, fetched again on the first use after it is older than that.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ._errors import AppSyncError, ConfigurationError, CredentialsError, redact

if TYPE_CHECKING:
    from botocore.credentials import Credentials as _BotocoreCredentialsObject
    from botocore.session import Session as _BotocoreSession

__all__ = [
    "BotocoreCredentials",
    "CallableCredentials",
    "CredentialSource",
    "DefaultCredentials",
    "EnvironmentCredentials",
    "FrozenCredentials",
    "StaticCredentials",
]

#: Fixed, public logger name. Messages never contain a secret key or token.
logger = logging.getLogger("appsync_iam.credentials")

# botocore.credentials._DEFAULT_ADVISORY/MANDATORY_REFRESH_TIMEOUT, in seconds.
ADVISORY_WINDOW = 15 * 60.0
MANDATORY_WINDOW = 10 * 60.0
#: CallableCredentials' default ttl for results without an expiry. A provider
#: that renews when asked inside botocore's windows (aiobotocore) is asked
#: again at least once between its advisory (15 min) and mandatory (10 min)
#: points while in use, so credentials with < 10 min left are never signed with.
CALLABLE_TTL = 5 * 60.0

_ENV_KEY = "AWS_ACCESS_KEY_ID"
_ENV_SECRET = "AWS_SECRET_ACCESS_KEY"
_ENV_TOKENS = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")  # the second is legacy
_ENV_EXPIRY = "AWS_CREDENTIAL_EXPIRATION"


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


class _CredentialsLike(Protocol):
    """What async providers may return: botocore/aiobotocore ReadOnlyCredentials."""

    @property
    def access_key(self) -> str | None: ...
    @property
    def secret_key(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...


#: A zero-argument async callable returning credentials.
CredentialsProvider = Callable[[], Awaitable[_CredentialsLike]]


# --- helpers ---------------------------------------------------------------


def _aware_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _snapshot(
    access_key: str | None,
    secret_key: str | None,
    token: str | None,
    expiry: datetime | None,
    origin: str,
) -> FrozenCredentials:
    """Validated snapshot; errors name what is missing, never a value."""
    for name, value in (("access key id", access_key), ("secret key", secret_key)):
        if not isinstance(value, str) or not value:
            raise CredentialsError(f"{origin} gave no {name}")
    if token is not None and not isinstance(token, str):
        raise CredentialsError(f"{origin} gave a session token that is not a string")
    assert access_key is not None and secret_key is not None  # checked above
    return FrozenCredentials(
        access_key,
        secret_key,
        token or None,
        _aware_utc(expiry) if expiry is not None else None,
    )


def _remaining(snapshot: FrozenCredentials) -> float | None:
    """Seconds until ``snapshot`` expires (None if it does not)."""
    if snapshot.expiry is None:
        return None
    return snapshot.expiry.timestamp() - time.time()


def _check_windows(advisory: float | None, mandatory: float | None) -> None:
    for name, value in (("advisory_window", advisory), ("mandatory_window", mandatory)):
        if value is not None and not value >= 0:
            raise ConfigurationError(f"{name} must be >= 0 seconds, got {value!r}")
    if advisory is not None and mandatory is not None and mandatory > advisory:
        raise ConfigurationError(
            f"mandatory_window ({mandatory}s) must not exceed "
            f"advisory_window ({advisory}s)"
        )


# --- the shared caching core -----------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cached:
    snapshot: FrozenCredentials
    lifetime: float  # seconds from fetch to expiry, for the scaled windows
    fetched_at: float  # time.monotonic(), for the ttl of one without expiry


@dataclass(frozen=True, slots=True)
class _Flight:
    task: asyncio.Task[FrozenCredentials]
    forced: bool


class _RefreshingSource:
    """Caching, windowed, single-flight core of the sources that can change.

    Subclasses implement :meth:`_fetch`. At most one fetch runs at a time per
    event loop, and every concurrent caller gets its result. Nothing is bound
    to a loop at construction: in-flight fetches are keyed by loop, so a
    source survives handlers that call ``asyncio.run`` per invocation.
    Callers on *different* loops in different threads may fetch concurrently.
    """

    def __init__(
        self,
        *,
        advisory_window: float | None = None,
        mandatory_window: float | None = None,
        ttl: float | None = None,
    ) -> None:
        _check_windows(advisory_window, mandatory_window)
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl >= 0
        ):
            raise ConfigurationError(
                f"ttl must be None (keep until refresh()) or >= 0 seconds, got {ttl!r}"
            )
        self._advisory_window = advisory_window
        self._mandatory_window = mandatory_window
        #: How long a snapshot without ``expiry`` is used before it is fetched
        #: again (0: before every use); None: until a forced refresh().
        self._ttl = ttl
        self._cached: _Cached | None = None
        self._flights: dict[asyncio.AbstractEventLoop, _Flight] = {}

    async def _fetch(self, force: bool) -> FrozenCredentials:
        """Get a new snapshot; ``force`` means the current one was rejected."""
        raise NotImplementedError

    async def get_frozen(self) -> FrozenCredentials:
        """Current credentials, refreshed first if they are about to expire."""
        cached = self._cached
        if cached is None:
            return await self._shared_fetch(forced=False)
        remaining = _remaining(cached.snapshot)
        if remaining is None:
            ttl = self._ttl
            if ttl is None or time.monotonic() - cached.fetched_at < ttl:
                return cached.snapshot
            # Callers wait (sharing one fetch): after an idle hour the cached
            # snapshot may be long dead, and only the provider knows.
            return await self._shared_fetch(forced=False)
        advisory, mandatory = self._windows(cached.lifetime)
        if remaining <= 0 or remaining < mandatory:
            return await self._shared_fetch(forced=False)
        if remaining < advisory:
            self._refresh_in_background(cached.snapshot)
        return cached.snapshot

    async def refresh(self) -> FrozenCredentials:
        """Fetch new credentials now, e.g. after AppSync answered ExpiredToken."""
        return await self._shared_fetch(forced=True)

    def _windows(self, lifetime: float) -> tuple[float, float]:
        """(advisory, mandatory) seconds before expiry, scaled to ``lifetime``."""
        advisory = self._advisory_window
        if advisory is None:
            advisory = min(ADVISORY_WINDOW, lifetime / 2)
        mandatory = self._mandatory_window
        if mandatory is None:
            mandatory = min(MANDATORY_WINDOW, lifetime / 4)
        return advisory, min(mandatory, advisory)

    async def _shared_fetch(self, *, forced: bool) -> FrozenCredentials:
        loop = asyncio.get_running_loop()
        while True:
            flight = self._flights.get(loop)
            if flight is None or flight.task.done():
                flight = self._start_flight(loop, forced)
            elif forced and not flight.forced:
                # A lazy refresh may hand back the rejected snapshot: let it
                # finish (one fetch at a time), then force a new one.
                await asyncio.wait({flight.task})
                continue
            # shield: a cancelled caller must not cancel the others' fetch.
            return await asyncio.shield(flight.task)

    def _start_flight(self, loop: asyncio.AbstractEventLoop, forced: bool) -> _Flight:
        flight = _Flight(loop.create_task(self._fetch_and_store(forced)), forced)
        self._flights[loop] = flight
        flight.task.add_done_callback(self._land)
        return flight

    def _land(self, task: asyncio.Task[FrozenCredentials]) -> None:
        loop = task.get_loop()
        flight = self._flights.get(loop)
        if flight is not None and flight.task is task:
            del self._flights[loop]
        if not task.cancelled():
            task.exception()  # retrieved: waiters (if any) re-raise it

    def _refresh_in_background(self, current: FrozenCredentials) -> None:
        loop = asyncio.get_running_loop()
        flight = self._flights.get(loop)
        if flight is not None and not flight.task.done():
            return
        flight = self._start_flight(loop, forced=False)

        def log_failure(task: asyncio.Task[FrozenCredentials]) -> None:
            if not task.cancelled() and (exc := task.exception()) is not None:
                logger.warning(
                    "Advisory credential refresh failed; still using the "
                    "current credentials (expire %s): %s",
                    current.expiry.isoformat() if current.expiry else "never",
                    exc,
                )

        flight.task.add_done_callback(log_failure)

    async def _fetch_and_store(self, forced: bool) -> FrozenCredentials:
        try:
            snapshot = await self._fetch(forced)
        except AppSyncError:
            raise
        except Exception as exc:
            raise CredentialsError(
                f"{self!r} failed: {type(exc).__name__}: {redact(str(exc))}"
            ) from exc
        remaining = _remaining(snapshot)
        if remaining is not None and remaining <= 0:
            raise CredentialsError(
                f"{self!r} returned credentials that expired at "
                f"{snapshot.expiry.isoformat() if snapshot.expiry else '?'}"
            )
        previous = self._cached
        lifetime = remaining if remaining is not None else 0.0
        if previous is not None and previous.snapshot == snapshot:
            # Same credentials back (the provider kept them): keep the windows
            # of their whole lifetime, or they would look fresh again.
            lifetime = previous.lifetime
        self._cached = _Cached(snapshot, lifetime, time.monotonic())
        logger.debug(
            "Fetched credentials from %r (access key %s, expire %s)",
            self,
            snapshot.access_key,
            snapshot.expiry.isoformat() if snapshot.expiry else "never",
        )
        return snapshot


# --- the sources -----------------------------------------------------------


class StaticCredentials:
    """Fixed credentials: always the same snapshot.

    ``refresh()`` returns the same snapshot too. If ``expiry`` is given and
    has passed, both raise :class:`CredentialsError` (nothing can renew them).

    Example::

        source = StaticCredentials("AKIDEXAMPLE", secret, token)
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        *,
        expiry: datetime | None = None,
    ) -> None:
        self._snapshot = _snapshot(
            access_key, secret_key, token, expiry, "StaticCredentials"
        )

    async def get_frozen(self) -> FrozenCredentials:
        """The snapshot given at construction."""
        remaining = _remaining(self._snapshot)
        if remaining is not None and remaining <= 0:
            raise CredentialsError(
                f"{self!r} expired and static credentials cannot be refreshed"
            )
        return self._snapshot

    async def refresh(self) -> FrozenCredentials:
        """The same snapshot: static credentials cannot be renewed."""
        return await self.get_frozen()

    def __repr__(self) -> str:
        return f"StaticCredentials(access_key={self._snapshot.access_key!r})"


class EnvironmentCredentials(_RefreshingSource):
    """Credentials from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``.

    Also reads ``AWS_SESSION_TOKEN`` (or the legacy ``AWS_SECURITY_TOKEN``)
    and ``AWS_CREDENTIAL_EXPIRATION`` (ISO 8601). Never imports botocore,
    which is what keeps a Lambda cold start short. The environment is read
    again on :meth:`refresh` and when the expiry comes near.
    """

    async def _fetch(self, force: bool) -> FrozenCredentials:
        return read_environment()

    def __repr__(self) -> str:
        return "EnvironmentCredentials()"


def read_environment() -> FrozenCredentials:
    """The snapshot the environment holds now; CredentialsError if incomplete."""
    access_key = os.environ.get(_ENV_KEY)
    secret_key = os.environ.get(_ENV_SECRET)
    pairs = ((_ENV_KEY, access_key), (_ENV_SECRET, secret_key))
    missing = [name for name, value in pairs if not value]
    if missing:
        raise CredentialsError(
            f"environment credentials incomplete: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set"
        )
    token = next((os.environ[n] for n in _ENV_TOKENS if os.environ.get(n)), None)
    return _snapshot(access_key, secret_key, token, _env_expiry(), "the environment")


def _env_expiry() -> datetime | None:
    text = os.environ.get(_ENV_EXPIRY, "").strip()
    if not text:
        return None
    try:
        # Python 3.10's fromisoformat does not accept a trailing "Z".
        return _aware_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise CredentialsError(
            f"{_ENV_EXPIRY}={text!r} is not an ISO 8601 date and time"
        ) from None


class CallableCredentials(_RefreshingSource):
    """Credentials from a zero-argument async callable.

    The callable returns a :class:`FrozenCredentials` or anything with
    ``access_key``, ``secret_key`` and ``token`` attributes (botocore's
    ``ReadOnlyCredentials``). A result with an ``expiry`` is cached and
    refreshed ahead of it. One without an expiry is cached for ``ttl``
    seconds (default 300) and then fetched again on next use (concurrent
    callers share that one call); a forced :meth:`refresh` (AppSync
    rejected the token or key) fetches at once. ``ttl=None`` keeps it
    until such a refresh (long-term keys); ``ttl=0`` calls the callable
    before every signature, for a callable that must be asked each time.

    The default follows aiobotocore, which plugs in as::

        CallableCredentials(aio_credentials.get_frozen_credentials)

    Its ``ReadOnlyCredentials`` carry no expiry; it renews them itself when
    asked inside botocore's windows (15 and 10 minutes before they expire),
    so asking every 5 minutes picks up new ones before the old expire.

    A *sync* callable is rejected with :class:`ConfigurationError` on its first
    call: it would block the event loop. Wrap blocking code yourself, e.g.
    ``async def fn(): return await asyncio.to_thread(sync_fn)``.
    """

    def __init__(
        self,
        fn: CredentialsProvider,
        *,
        advisory_window: float | None = None,
        mandatory_window: float | None = None,
        ttl: float | None = CALLABLE_TTL,
    ) -> None:
        if not callable(fn) or isinstance(fn, type):
            raise ConfigurationError(
                "CallableCredentials needs a zero-argument async callable, "
                f"got {type(fn).__name__}"
            )
        super().__init__(
            advisory_window=advisory_window,
            mandatory_window=mandatory_window,
            ttl=ttl,
        )
        self._fn = fn

    async def _fetch(self, force: bool) -> FrozenCredentials:
        result = self._fn()
        if not isinstance(result, Awaitable):
            raise ConfigurationError(
                f"{self!r}: the callable returned {type(result).__name__}, not an "
                "awaitable; pass an async callable (wrap blocking code in "
                "asyncio.to_thread)"
            )
        value = await result
        if isinstance(value, FrozenCredentials):
            return _snapshot(
                value.access_key,
                value.secret_key,
                value.token,
                value.expiry,
                repr(self),
            )
        try:
            parts = (value.access_key, value.secret_key, value.token)
        except AttributeError:
            raise CredentialsError(
                f"{self!r} returned {type(value).__name__}; expected "
                "FrozenCredentials or an object with access_key, secret_key "
                "and token"
            ) from None
        expiry = getattr(value, "expiry", None)
        return _snapshot(
            *parts, expiry if isinstance(expiry, datetime) else None, repr(self)
        )

    def __repr__(self) -> str:
        # Never the callable's repr: a functools.partial shows its arguments.
        name = getattr(self._fn, "__qualname__", type(self._fn).__name__)
        return f"CallableCredentials({name})"


class BotocoreCredentials(_RefreshingSource):
    """botocore's full credential chain, resolved and refreshed off the loop.

    Profiles, SSO, assume-role, web identity, ``credential_process``,
    container and instance metadata: whatever ``session.get_credentials()``
    finds. botocore is imported, the session built and every resolution or
    refresh run in a worker thread, on first use, never in the constructor.
    A forced :meth:`refresh` resolves the chain again (with a new session,
    unless one was given, so edited config files are read again).

    botocore itself refreshes credentials that are inside its 15-minute window
    inside ``get_frozen_credentials()``; credentials that live less than that
    are therefore fetched twice on first resolution.
    """

    def __init__(
        self,
        session: _BotocoreSession | None = None,
        profile: str | None = None,
        *,
        advisory_window: float | None = None,
        mandatory_window: float | None = None,
    ) -> None:
        if session is not None and profile is not None:
            raise ConfigurationError(
                "pass either a botocore session or a profile name, not both "
                "(the session already has a profile)"
            )
        super().__init__(
            advisory_window=advisory_window, mandatory_window=mandatory_window
        )
        self._given_session = session
        self._session: _BotocoreSession | None = session
        self._profile = profile
        self._resolved: _BotocoreCredentialsObject | None = None

    async def _fetch(self, force: bool) -> FrozenCredentials:
        return await asyncio.to_thread(self._fetch_blocking, force)

    def _fetch_blocking(self, force: bool) -> FrozenCredentials:
        """Runs in a worker thread: may read files, spawn processes, call STS."""
        try:
            credentials = self._resolved
            if credentials is None or force:
                credentials = self._resolve(fresh=credentials is not None)
            # Refreshes RefreshableCredentials inside botocore's own window.
            frozen = credentials.get_frozen_credentials()
            snapshot = _snapshot(
                frozen.access_key,
                frozen.secret_key,
                frozen.token,
                _botocore_expiry(credentials),
                f"botocore ({credentials.method})",
            )
        except AppSyncError:
            raise
        except Exception as exc:
            raise CredentialsError(
                f"botocore could not get credentials ({self._profile_text()}): "
                f"{type(exc).__name__}: {redact(str(exc))}"
            ) from exc
        self._resolved = credentials
        return snapshot

    def _resolve(self, *, fresh: bool) -> _BotocoreCredentialsObject:
        if self._given_session is not None:
            session = self._given_session
            if fresh:
                resolver = session.get_component("credential_provider")
                found: _BotocoreCredentialsObject | None = resolver.load_credentials()
            else:
                found = session.get_credentials()
        else:
            import botocore.session  # lazily: ~100 ms, and only here

            session = botocore.session.Session(profile=self._profile)
            found = session.get_credentials()
        self._session = session
        if found is None:
            raise CredentialsError(self._nothing_found(session))
        logger.debug("botocore resolved credentials via %s", found.method)
        return found

    def _profile_text(self) -> str:
        if self._profile is not None:
            return f"profile {self._profile!r}"
        session = self._session
        name = session.get_config_variable("profile") if session else None
        return f"profile {name or 'default'!r}"

    def _nothing_found(self, session: _BotocoreSession) -> str:
        places = []
        if self._profile is None:
            places.append(f"environment variables {_ENV_KEY}/{_ENV_SECRET}")
        places += [
            f"{self._profile_text()} in the shared credentials file "
            f"({session.get_config_variable('credentials_file')}) and the "
            f"config file ({session.get_config_variable('config_file')}), with "
            "its assume-role, web identity, SSO and credential_process settings",
            "the container credentials endpoint "
            "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI)",
            "EC2 instance metadata (IMDS"
            + (
                ", disabled by AWS_EC2_METADATA_DISABLED)"
                if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
                else ")"
            ),
        ]
        return "no AWS credentials found; looked in: " + "; ".join(places)

    def __repr__(self) -> str:
        if self._given_session is not None:
            return "BotocoreCredentials(session=<botocore session>)"
        return f"BotocoreCredentials(profile={self._profile!r})"


def _botocore_expiry(credentials: object) -> datetime | None:
    # botocore has no public expiry accessor; RefreshableCredentials keeps it
    # in _expiry_time (an aware datetime) since 2014, and aiobotocore reads it
    # the same way. Static credentials have none.
    expiry = getattr(credentials, "_expiry_time", None)
    return _aware_utc(expiry) if isinstance(expiry, datetime) else None


class DefaultCredentials:
    """The default chain: the environment first, else botocore's chain.

    With complete ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (Lambda), no
    botocore import happens at all. With a ``profile``, botocore is used
    directly, as botocore ignores environment credentials for a named
    profile. The choice is made on first use and then kept.
    """

    def __init__(
        self,
        profile: str | None = None,
        *,
        advisory_window: float | None = None,
        mandatory_window: float | None = None,
    ) -> None:
        _check_windows(advisory_window, mandatory_window)
        self._profile = profile
        self._advisory_window = advisory_window
        self._mandatory_window = mandatory_window
        self._source: EnvironmentCredentials | BotocoreCredentials | None = None

    def _chosen(self) -> EnvironmentCredentials | BotocoreCredentials:
        if self._source is None:
            in_env = os.environ.get(_ENV_KEY) or os.environ.get(_ENV_SECRET)
            if self._profile is None and in_env:
                self._source = EnvironmentCredentials(
                    advisory_window=self._advisory_window,
                    mandatory_window=self._mandatory_window,
                )
            else:
                self._source = BotocoreCredentials(
                    profile=self._profile,
                    advisory_window=self._advisory_window,
                    mandatory_window=self._mandatory_window,
                )
        return self._source

    async def get_frozen(self) -> FrozenCredentials:
        """Current credentials from the chosen source."""
        return await self._chosen().get_frozen()

    async def refresh(self) -> FrozenCredentials:
        """Force the chosen source to fetch again."""
        return await self._chosen().refresh()

    def __repr__(self) -> str:
        using = f", using={self._source!r}" if self._source is not None else ""
        return f"DefaultCredentials(profile={self._profile!r}{using})"


def as_credential_source(
    obj: object, *, profile: str | None = None
) -> CredentialSource:
    """Turn what a user passed as ``credentials=`` into a credential source.

    None → :class:`DefaultCredentials` (with ``profile``); a
    :class:`FrozenCredentials` → :class:`StaticCredentials`; a credential
    source → itself; an async callable → :class:`CallableCredentials`.
    """
    if profile is not None and obj is not None:
        raise ConfigurationError("pass either credentials or a profile name, not both")
    if obj is None:
        return DefaultCredentials(profile)
    if isinstance(obj, FrozenCredentials):
        return StaticCredentials(
            obj.access_key, obj.secret_key, obj.token, expiry=obj.expiry
        )
    if isinstance(obj, CredentialSource) and not isinstance(obj, type):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return CallableCredentials(obj)
    hint = ""
    if hasattr(obj, "get_frozen_credentials"):
        hint = (
            "; for botocore credentials use BotocoreCredentials(session), for "
            "aiobotocore CallableCredentials(credentials.get_frozen_credentials)"
        )
    raise ConfigurationError(
        "credentials must be None (the default chain), FrozenCredentials, a "
        "credential source (an object with async get_frozen() and refresh(), "
        "such as StaticCredentials or BotocoreCredentials) or a zero-argument "
        f"async callable returning credentials; got {type(obj).__name__}{hint}"
    )
