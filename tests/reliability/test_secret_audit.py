"""Issue 7, point 6: no secret key, session token or signature ever leaks.

The suite-wide audit (``tests/secret_audit.py``) scans every test's DEBUG
logs, captured output and requested URLs. This file proves it can fail
(the scanner flags each kind of leak), checks ``repr``/``str`` of every
public object built with secrets and of every error class raised by a real
failure against the emulator, and runs a functional pass (HTTP with a
session token, rejections, retries, subscriptions with reconnects in both
auth modes, the CLI with ``--debug``) scanning each channel explicitly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import appsync_iam
import appsync_iam.emulator
from appsync_iam import (
    AppSyncClient,
    AppSyncEndpoint,
    AppSyncError,
    AppSyncIAMTransport,
    AuthorizationError,
    BatchResult,
    BotocoreCredentials,
    CallableCredentials,
    ConfigurationError,
    ConnectionEvent,
    ConnectionState,
    CredentialsError,
    DefaultCredentials,
    EnvironmentCredentials,
    FrozenCredentials,
    GraphQLResponseError,
    ProtocolError,
    RealtimeClient,
    RealtimeOptions,
    RequestTimeout,
    RetryPolicy,
    SigV4ASigner,
    SigV4Signer,
    StaticCredentials,
    SubscriptionError,
    ThrottlingError,
    TransportError,
)
from appsync_iam.cli import get_parser, main
from appsync_iam.emulator import (
    AppSyncEmulator,
    AppSyncResolverError,
    ExecutedOperation,
    Principal,
    ReceivedRequest,
    SignatureRejected,
    SigV4Verifier,
)
from tests.secret_audit import (
    AUDIT_LEVEL,
    DebugEverywhere,
    find_leaks,
    involves_product,
    query_auth_remainder,
    secrets_in_source,
    suite_secrets,
)

KEY = "ASIAAUDITEXAMPLE"
SECRET = "auditSecretKeyEXAMPLE/doNotLeak+0123456789abcdef"
TOKEN = "auditSessionTokenEXAMPLE+/=doNotLeak0123456789ABCDEFGHIJ"
WRONG_SECRET = "auditWrongSecretEXAMPLE/0123456789abcdef"
SECRETS = (SECRET, TOKEN, WRONG_SECRET)
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

GET_ROOM = "query GetRoom($id: ID!) { getRoom(id: $id) { id name } }"
POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id roomId content } }"
)
ON_MESSAGE = (
    "subscription OnMessage($room: ID) { onMessagePosted(roomId: $room) "
    "{ id roomId content } }"
)
NO_RETRY = RetryPolicy(max_attempts=1)
FAST_RETRY = RetryPolicy(max_attempts=20, base_delay=0.001, max_delay=0.01)
FAST_REALTIME = RealtimeOptions(backoff_base=0.02, backoff_cap=0.1, linger=0.05)


def assert_clean(*texts: object, label: str = "test") -> None:
    """No secret, signature, header object or token header in any of ``texts``."""
    for text in texts:
        leaks = find_leaks(str(text), SECRETS, channel=label)
        assert not leaks, "\n".join(map(str, leaks))


def shown(obj: object) -> list[str]:
    """Everything an object shows about itself: repr, str, and an error's
    args, attributes and chained errors."""
    texts = [repr(obj), str(obj)]
    if isinstance(obj, BaseException):
        texts += [repr(arg) for arg in obj.args]
        texts += [repr(vars(obj))]  # .errors, .status, .request_id, …
        for linked in (obj.__cause__, obj.__context__):
            texts += shown(linked) if linked is not None else []
    return texts


async def eventually(condition: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.01)


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """The chat sample with a temporary principal (every request carries TOKEN)."""
    async with AppSyncEmulator("chat", ka_interval=0.05, seed=3) as emu:
        emu.add_principal(KEY, SECRET, TOKEN)
        yield emu


@pytest.fixture
def creds() -> FrozenCredentials:
    return FrozenCredentials(KEY, SECRET, TOKEN)


@pytest.fixture
def captured() -> Iterator[DebugEverywhere]:
    """Every log record of the test at DEBUG, kept by the audit's own handler."""
    debug = DebugEverywhere()
    debug.install()
    try:
        yield debug
    finally:
        debug.uninstall()


def logs(debug: DebugEverywhere) -> str:
    return "\n".join(debug.handler.texts)


def aiohttp_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))


def client_for(
    emulator: AppSyncEmulator, credentials: object, **kwargs: Any
) -> AppSyncClient:
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("timeout", 10)
    return AppSyncClient(emulator.url, credentials=credentials, **kwargs)


# --- the audit can fail -----------------------------------------------------------


class TestScannerFlagsEveryKindOfLeak:
    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            pytest.param(f"signing with {SECRET}", "secret", id="raw"),
            pytest.param(
                f"token={TOKEN.replace('+', '%2B').replace('/', '%2F')}",
                "secret",
                id="percent-encoded",
            ),
            pytest.param(
                f"blob {base64.b64encode(TOKEN.encode()).decode()}",
                "secret in base64",
                id="base64",
            ),
            pytest.param(f"Signature={SIGNATURE}", "signature", id="signature"),
            pytest.param(f"computed {SIGNATURE} for you", "signature", id="bare-hex"),
            pytest.param(
                "x-amz-security-token: someOtherTokenValue",
                "x-amz-security-token value",
                id="token-line",
            ),
            pytest.param(
                '{"X-Amz-Security-Token": "abc"}',
                "x-amz-security-token value",
                id="token-json",
            ),
        ],
    )
    def test_each_kind(self, text: str, kind: str) -> None:
        """The scanner flags each way a secret can be written (so the audit
        cannot pass vacuously)."""
        leaks = find_leaks(text, SECRETS)
        assert kind in [leak.kind for leak in leaks]
        for leak in leaks:  # the report does not leak in turn
            assert SECRET not in str(leak) and TOKEN not in str(leak)
            assert SIGNATURE not in str(leak)

    def test_header_object_in_both_forms(self) -> None:
        """The header object is flagged as a subprotocol and as query base64,
        even with a token the audit does not know."""
        header = {
            "host": "example.com",
            "x-amz-date": "20240101T000000Z",
            "x-amz-security-token": "unknown-token",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=K/…, Signature={SIGNATURE}",
        }
        raw = json.dumps(header).encode()
        sub = "header-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        query = "header=" + base64.b64encode(raw).decode().replace("+", "%2B")
        assert "header subprotocol" in [k.kind for k in find_leaks(sub, ())]
        assert "header object" in [k.kind for k in find_leaks(query, ())]

    @pytest.mark.parametrize(
        "text",
        [
            "Signature=<redacted>, x-amz-security-token:<redacted>",
            "request id 0b9a2a8e-3c1d-4f6e-9a7b-1c2d3e4f5a6b",
            "FrozenCredentials(access_key='ASIAAUDITEXAMPLE', secret_key=<redacted>)",
            "SignedHeaders=host;x-amz-date;x-amz-security-token",
            "'x-amz-security-token' must be a 'SignedHeader'",
            # AppSync's signature error echoes public hashes, no signature:
            f"x-amz-content-sha256:{SIGNATURE}\nx-amz-date:20240101T000000Z",
            f"aws4_request\n{SIGNATURE}'\n",
        ],
    )
    def test_clean_text_passes(self, text: str) -> None:
        assert find_leaks(text, SECRETS) == []

    def test_short_secrets_are_not_scanned(self) -> None:
        """A one-letter secret would flag every text: it is skipped."""
        assert find_leaks("a secret s", ("s",)) == []

    @pytest.mark.secret_audit_exempt("logs a secret on purpose, to be flagged")
    def test_a_logged_secret_is_captured_and_flagged(self) -> None:
        """End to end without pytester: a DEBUG record through the audit's
        handler carries the secret, args and traceback into the scan."""
        debug = DebugEverywhere()
        debug.install()
        try:
            log = logging.getLogger("appsync_iam.audit_self_test")
            log.debug("creds %s", SECRET)
            try:
                raise ValueError(f"token {TOKEN}")
            except ValueError:
                log.exception("failed")
        finally:
            debug.uninstall()
        kinds = [leak.kind for leak in find_leaks(logs(debug), SECRETS)]
        assert kinds.count("secret") == 2

    def test_third_party_records_count_when_the_product_is_involved(self) -> None:
        """A library's record is scanned when appsync_iam raised what it carries
        (aiohttp's server logging an emulator handler's exception); a test's
        own botocore signing is not the product's doing."""
        try:
            AppSyncEndpoint.from_url("ftp://nowhere/graphql")
        except ConfigurationError as exc:
            raised = exc
        record = logging.LogRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Error handling", (), None
        )
        assert not involves_product(record)
        record.exc_info = (type(raised), raised, raised.__traceback__)
        assert involves_product(record)
        record.name = "appsync_iam.anything"
        record.exc_info = None
        assert involves_product(record)

    def test_suite_secrets_are_collected_from_the_sources(self) -> None:
        """Constants, credential arguments, env values and profile lines."""
        root = Path(__file__).resolve().parents[2]
        found = suite_secrets(root)
        assert {SECRET, TOKEN, WRONG_SECRET} <= found
        assert "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" in found
        source = (
            "FrozenCredentials('K', 'posSecret1', token='kwToken01')\n"
            "env = {'AWS_SESSION_TOKEN': 'envToken01'}\n"
            "PROFILE = '[p]\\naws_secret_access_key = fileSecret1\\n'\n"
        )
        assert secrets_in_source(source) >= {
            "posSecret1",
            "kwToken01",
            "envToken01",
            "fileSecret1",
        }

    def test_query_auth_urls_keep_only_what_is_there_by_design(self) -> None:
        """The opt-in query form may carry the signature and the token, never
        the secret key."""
        header = {"host": "h", "Authorization": f"…Signature={SIGNATURE}"}
        header["x-amz-security-token"] = TOKEN
        encoded = base64.b64encode(json.dumps(header).encode()).decode()
        url = f"/graphql/realtime?header={encoded}&payload=e30="
        remainder = query_auth_remainder(url)
        assert remainder is not None and find_leaks(remainder, SECRETS) == []
        header["x-smuggled"] = SECRET
        encoded = base64.b64encode(json.dumps(header).encode()).decode()
        remainder = query_auth_remainder(
            f"/graphql/realtime?header={encoded}&payload=e30="
        )
        assert remainder is not None and find_leaks(remainder, SECRETS)
        assert query_auth_remainder("/graphql?header=x&payload=e30=") is None

    def test_the_suite_runs_at_debug(self, caplog: pytest.LogCaptureFixture) -> None:
        """The plugin is on (unless APPSYNC_IAM_AUDIT=0) and caplog sees only
        what it saw without it."""
        if logging.getLogger().level != AUDIT_LEVEL:
            pytest.skip("the audit plugin is off (APPSYNC_IAM_AUDIT=0)")
        logging.getLogger("botocore.audit_self_test").debug("below WARNING")
        logging.getLogger("botocore.audit_self_test").warning("at WARNING")
        assert [r.getMessage() for r in caplog.records] == ["at WARNING"]
        caplog.set_level(logging.DEBUG, logger="botocore.audit_self_test")
        logging.getLogger("botocore.audit_self_test").debug("asked for")
        assert caplog.records[-1].getMessage() == "asked for"


# --- repr and str of every public object ------------------------------------------


def echo_message(token: str) -> str:
    """What AppSync answers a bad signature: the canonical request it
    expected, session token line included (aws-mobile-appsync-sdk-js #561)."""
    return (
        "The request signature we calculated does not match the signature you "
        "provided. Check your AWS Secret Access Key and signing method. Consult "
        "the service documentation for details.\n\n"
        "The Canonical String for this request should have been\n"
        "'POST\n/graphql\n\nhost:example.com\nx-amz-date:20240101T000000Z\n"
        f"x-amz-security-token:{token}\n\nhost;x-amz-date;x-amz-security-token\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n"
    )


class ScriptedAppSync:
    """A server that answers as real AppSync does where the emulator is
    stricter than needed: the bad-signature echo carries the token, over
    HTTP and over the real-time handshake; ``/html`` answers a proxy's page."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def __aenter__(self) -> ScriptedAppSync:
        app = web.Application()
        app.router.add_post("/graphql", self._http)
        app.router.add_get("/graphql/realtime", self._realtime)
        app.router.add_post("/html", self._html)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    @staticmethod
    async def _http(request: web.Request) -> web.Response:
        token = request.headers["x-amz-security-token"]
        body = {
            "errors": [
                {
                    "errorType": "InvalidSignatureException",
                    "message": echo_message(token),
                }
            ]
        }
        return web.json_response(
            body, status=403, headers={"x-amzn-ErrorType": "InvalidSignatureException"}
        )

    @staticmethod
    async def _realtime(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("graphql-ws",))
        await ws.prepare(request)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        encoded = next(
            (
                p.strip()[7:]
                for p in offered.split(",")
                if p.strip().startswith("header-")
            ),
            "",
        )
        header = json.loads(
            base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        )
        token = next(
            v for k, v in header.items() if k.lower() == "x-amz-security-token"
        )
        error = {
            "errorType": "BadRequestException",
            "message": echo_message(token),
            "errorCode": 400,
        }
        frame = {"type": "connection_error", "payload": {"errors": [error]}}
        await ws.send_str(json.dumps(frame))
        await ws.close()
        return ws

    @staticmethod
    async def _html(request: web.Request) -> web.Response:
        return web.Response(text="<html>502 Bad Gateway</html>", status=200)


async def real_errors(
    emulator: AppSyncEmulator, creds: FrozenCredentials, scripted: ScriptedAppSync
) -> dict[str, BaseException]:
    """One instance of each error class, each from a real failure."""
    errors: dict[str, BaseException] = {}

    async def catch(name: str, awaitable: Any) -> None:
        try:
            await awaitable
        except (AppSyncError, SignatureRejected) as exc:
            errors[name] = exc
        else:  # pragma: no cover - the failure is the point
            raise AssertionError(f"{name}: no error")

    async def query(name: str, credentials: object, **kwargs: Any) -> None:
        async with client_for(emulator, credentials, **kwargs) as client:
            await catch(name, client.execute_async(GET_ROOM, {"id": "r"}))

    wrong = FrozenCredentials(KEY, WRONG_SECRET, TOKEN)
    await query("wrong secret", wrong)
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    emulator.add_principal("ASIAEXPIREDEXAMPLE", SECRET, TOKEN, expires_at=past)
    await query("expired token", FrozenCredentials("ASIAEXPIREDEXAMPLE", SECRET, TOKEN))
    emulator.add_principal("ASIADENIEDEXAMPLE", SECRET, TOKEN, deny=["Query.getRoom"])
    await query("graphql error", FrozenCredentials("ASIADENIEDEXAMPLE", SECRET, TOKEN))
    emulator.faults.throttle_rate = 1.0
    await query("throttled", creds)
    emulator.faults.throttle_rate = 0.0
    emulator.faults.reset_before_rate = 1.0
    await query("reset", creds)
    emulator.faults.reset_before_rate = 0.0
    emulator.faults.latency_ms = (300, 300)
    await query("timeout", creds, timeout=0.05)
    emulator.faults.latency_ms = None
    await catch(
        "credentials", StaticCredentials(KEY, SECRET, TOKEN, expiry=past).get_frozen()
    )
    try:
        AppSyncClient("ftp://nowhere/graphql", credentials=creds)
    except ConfigurationError as exc:
        errors["configuration"] = exc
    async with client_for(emulator, wrong, realtime_options=FAST_REALTIME) as client:
        await catch("subscription", client.subscribe(ON_MESSAGE).__anext__())
    for path, name in (("/graphql", "echo"), ("/html", "not json")):
        url = f"http://{scripted.base}{path}"
        async with AppSyncClient(url, region="us-east-1", credentials=creds) as client:
            await catch(name, client.execute_async(GET_ROOM, {"id": "r"}))
    async with AppSyncClient(
        f"http://{scripted.base}/graphql",
        region="us-east-1",
        credentials=creds,
        realtime_options=RealtimeOptions(**FAST_REALTIME, max_attempts=3),
    ) as client:
        await catch("subscription echo", client.subscribe(ON_MESSAGE).__anext__())
    verifier = SigV4Verifier(emulator.principals, emulator.region, now=emulator.now)
    signed = SigV4Signer(region=emulator.region).sign(
        "POST", emulator.url, {}, b"{}", wrong
    )
    try:
        verifier.verify(
            method="POST", path="/graphql", query="", headers=signed, body=b"{}"
        )
    except SignatureRejected as exc:
        errors["verifier"] = exc
    return errors


class TestReprs:
    async def test_every_error_from_a_real_failure(
        self, emulator: AppSyncEmulator, creds: FrozenCredentials
    ) -> None:
        """Each error class, raised by a real failure, shows no secret, token,
        signature or header object in str, repr or args; nor does the echo of
        the canonical request, token line included, that AppSync sends."""
        async with ScriptedAppSync() as scripted:
            errors = await real_errors(emulator, creds, scripted)
        expected = {
            "wrong secret": AuthorizationError,
            "expired token": AuthorizationError,
            "graphql error": GraphQLResponseError,
            "throttled": ThrottlingError,
            "reset": TransportError,
            "timeout": RequestTimeout,
            "credentials": CredentialsError,
            "configuration": ConfigurationError,
            "subscription": SubscriptionError,
            "echo": AuthorizationError,
            "not json": ProtocolError,
            "subscription echo": SubscriptionError,
            "verifier": SignatureRejected,
        }
        assert {name: type(e) for name, e in errors.items()} == expected
        # The echo reached the error's data, token line redacted.
        echoed = errors["subscription echo"]
        assert isinstance(echoed, SubscriptionError)
        assert "x-amz-security-token:<redacted>" in echoed.errors[0]["message"]
        for name, error in errors.items():
            assert_clean(*shown(error), label=name)

    async def test_every_public_object(
        self,
        emulator: AppSyncEmulator,
        creds: FrozenCredentials,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """repr and str of every public class of appsync_iam and its emulator,
        built with the secrets (and used, so caches hold them)."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
        import botocore.session

        session = botocore.session.Session()
        session.set_credentials(KEY, SECRET, TOKEN)

        async def provide() -> FrozenCredentials:
            return creds

        sources: list[Any] = [
            StaticCredentials(KEY, SECRET, TOKEN),
            EnvironmentCredentials(),
            CallableCredentials(provide),
            BotocoreCredentials(session),
            DefaultCredentials(),
        ]
        for source in sources:
            assert (await source.get_frozen()).secret_key == SECRET
        transport = AppSyncIAMTransport(emulator.url, credentials=creds)
        sigv4a = SigV4ASigner("s3", region_set="*")
        sigv4a.sign("GET", emulator.url, {}, b"", creds)  # its key cache holds them
        realtime = RealtimeClient(transport, **FAST_REALTIME)
        async with client_for(emulator, creds, retry=FAST_RETRY) as client:
            await client.execute_async(GET_ROOM, {"id": "r"})
            results = [
                r
                async for r in client.execute_many(
                    GET_ROOM, [{"id": "r"}, {"id": None}]
                )
            ]
            objects: list[object] = [
                creds,
                *sources,
                AppSyncEndpoint.from_url(emulator.url),
                SigV4Signer(region="us-east-1"),
                sigv4a,
                transport,
                client,
                RetryPolicy(),
                appsync_iam.TokenBucket(100),
                appsync_iam.AdaptiveRateLimiter(),
                realtime,
                ConnectionEvent(ConnectionState.RECONNECTING, 1, "lost"),
                ConnectionState.CONNECTED,
                *results,
                emulator,
                *emulator.principals.values(),
                emulator.faults,
                *emulator.executed,
                *emulator.requests,
                SigV4Verifier(emulator.principals, "us-east-1", now=emulator.now),
                AppSyncResolverError("denied", error_type="Unauthorized"),
                *(await _sigv4_server_objects()),
                *(await _events_objects(emulator, creds)),
                *(await _events_client_objects(emulator, creds)),
            ]
            assert any(isinstance(r, BatchResult) and r.error for r in results)
            covered = {type(obj).__name__ for obj in objects} | {
                "CredentialSource",  # a Protocol: no instances of its own
                "RealtimeOptions",  # a TypedDict: a plain dict of timings
                "EventsRealtimeOptions",  # a TypedDict too
            }
            assert_clean(*(text for obj in objects for text in shown(obj)))
        await realtime.close()
        assert isinstance(emulator.executed[0], ExecutedOperation)
        assert isinstance(emulator.principals[KEY], Principal)
        assert isinstance(emulator.requests[0], ReceivedRequest)
        public = {
            name
            for module in (appsync_iam, appsync_iam.emulator)
            for name in module.__all__
            if isinstance(getattr(module, name), type)
        }
        errors = {
            n for n in public if issubclass(getattr(appsync_iam, n, int), Exception)
        }
        missing = (
            public - covered - errors - {"SignatureRejected", "AppSyncResolverError"}
        )
        assert not missing, f"add to this test: {sorted(missing)}"


async def _events_objects(
    emulator: AppSyncEmulator, creds: FrozenCredentials
) -> list[object]:
    """An Events API publish signed with the secrets: what the emulator recorded."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"channel":"/default/a","events":["1"]}'
    request = AWSRequest("POST", emulator.events_url, data=body)
    SigV4Auth(
        Credentials(creds.access_key, creds.secret_key, creds.token),
        "appsync",
        emulator.region,
    ).add_auth(request)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            emulator.events_url, data=body, headers=dict(request.headers)
        ) as answer:
            assert answer.status == 200, await answer.text()
    assert emulator.published
    return [*emulator.published, emulator.events]


async def _events_client_objects(
    emulator: AppSyncEmulator, creds: FrozenCredentials
) -> list[object]:
    """AppSyncEventsClient with the secrets, after HTTP and WebSocket publishes
    (one event failed): it, its endpoint and results."""
    from appsync_iam import AppSyncEventsClient

    emulator.faults.fail_event_indices = {1}
    async with AppSyncEventsClient(emulator.events_url, credentials=creds) as client:
        result = await client.publish("/default/a", [1, 2])
        over_ws = await client.publish("/default/a", [3], via="websocket")
    emulator.faults.fail_event_indices = set()
    assert result.failed and over_ws.ok
    return [
        client,
        client.endpoint,
        result,
        over_ws,
        *result.successful,
        *result.failed,
    ]


async def _sigv4_server_objects() -> list[object]:
    """A SigV4Server with a temporary principal, after an accepted and a
    tampered request signed with the secrets: it, its records, a Verification."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from appsync_iam.emulator import SigV4Server

    async with SigV4Server() as server:
        server.add_principal(KEY, SECRET, TOKEN)
        request = AWSRequest("GET", server.url + "/x?a=1")
        SigV4Auth(Credentials(KEY, SECRET, TOKEN), "execute-api", "us-east-1").add_auth(
            request
        )
        async with aiohttp.ClientSession() as session:
            for url in (request.url, request.url.replace("a=1", "a=2")):
                async with session.get(url, headers=dict(request.headers)) as answer:
                    # Answers hold public hashes (the body's SHA-256): only
                    # the secret and the token are looked for.
                    text = await answer.text()
                    assert SECRET not in text and TOKEN not in text
        adapters = await _used_adapters(server.url)
        records = server.requests
        assert records[0].verified is not None and records[1].verified is None
        assert all(r.verified is not None for r in records[2:])
        return [server, *records, records[0].verified, *adapters]


async def _used_adapters(url: str) -> list[object]:
    """The three SigV4 adapters, each after a request signed with the secrets
    (so their credential caches hold them)."""
    import httpx
    import requests

    from appsync_iam import AiohttpSigV4Middleware, HttpxSigV4Auth, RequestsSigV4Auth

    source = StaticCredentials(KEY, SECRET, TOKEN)
    options: dict[str, Any] = {"region": "us-east-1", "credentials": source}
    middleware = AiohttpSigV4Middleware("lambda", **options)
    async with aiohttp.ClientSession(middlewares=[middleware]) as session:
        async with session.post(url + "/m", data=b"x") as answer:
            assert answer.status == 200
    httpx_auth = HttpxSigV4Auth("execute-api", **options)
    async with httpx.AsyncClient(auth=httpx_auth) as client:
        assert (await client.get(url + "/h?q=1")).status_code == 200
    requests_auth = RequestsSigV4Auth("es", **options)
    answer = await asyncio.to_thread(
        requests.post, url + "/r", data=b"{}", auth=requests_auth, timeout=10
    )
    assert answer.status_code == 200
    return [middleware, httpx_auth, requests_auth]


# --- a functional pass at DEBUG, every channel scanned -----------------------------


def urls(emulator: AppSyncEmulator) -> list[str]:
    return [received.path_qs for received in emulator.requests]


class TestFunctionalPassAtDebug:
    async def test_http(
        self,
        emulator: AppSyncEmulator,
        creds: FrozenCredentials,
        captured: DebugEverywhere,
    ) -> None:
        """Query, mutation, batch, retries and rejections with a session token:
        logs and requested URLs hold no secret, token or signature."""
        emulator.faults.throttle_rate = 0.4
        async with client_for(emulator, creds, retry=FAST_RETRY) as client:
            await client.execute_async(GET_ROOM, {"id": "r1"})
            await client.execute_async(POST, {"room": "r1", "content": "hello"})
            batch = [{"id": f"r{i}"} for i in range(10)] + [{"id": None}]
            results = [r async for r in client.execute_many(GET_ROOM, batch)]
        emulator.faults.throttle_rate = 0.0
        assert [r.ok for r in results].count(False) == 1
        wrong = FrozenCredentials(KEY, WRONG_SECRET, TOKEN)
        async with client_for(emulator, wrong, retry=FAST_RETRY) as client:
            with pytest.raises(AuthorizationError) as caught:
                await client.execute_async(GET_ROOM, {"id": "r1"})
        text = logs(captured)
        for expected in ("Retrying", "Rejected POST /graphql", "Ran a GraphQL"):
            assert expected in text
        assert emulator.faults.injected["throttle"] > 0
        assert set(urls(emulator)) == {"/graphql"}
        assert_clean(text, *urls(emulator), *shown(caught.value), *results)

    @pytest.mark.parametrize("auth", ["subprotocol", "query"])
    async def test_subscription_with_reconnects(
        self,
        emulator: AppSyncEmulator,
        creds: FrozenCredentials,
        captured: DebugEverywhere,
        auth: str,
    ) -> None:
        """A subscription that reconnects twice, in both auth modes: logs and
        state reasons are clean; the header object is in a URL only in the
        opt-in query mode, and even there holds no secret key."""
        events: list[ConnectionEvent] = []
        async with client_for(
            emulator,
            creds,
            retry=FAST_RETRY,
            realtime_auth=auth,
            realtime_options=FAST_REALTIME,
        ) as client:
            received: list[Any] = []

            async def consume() -> None:
                async for data in client.subscribe(
                    ON_MESSAGE, {"room": "r1"}, on_state=events.append
                ):
                    received.append(data)

            task = asyncio.ensure_future(consume())
            try:
                for round_ in range(3):
                    # Connected again (round_ + 1 times) before the next event.
                    await eventually(
                        lambda n=round_: (
                            sum(e.state is ConnectionState.CONNECTED for e in events)
                            > n
                        )
                    )
                    await client.execute_async(
                        POST, {"room": "r1", "content": f"m{round_}"}
                    )
                    await eventually(lambda n=round_: len(received) > n)
                    emulator.realtime.drop_all()
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
        states = [e.state for e in events]
        assert states.count(ConnectionState.RECONNECTING) >= 2
        upgrades = [u for u in urls(emulator) if u.startswith("/graphql/realtime")]
        assert len(upgrades) >= 3
        for url in upgrades:
            remainder = query_auth_remainder(url)
            if auth == "subprotocol":
                assert url == "/graphql/realtime"
            else:
                assert remainder is not None
                assert_clean(remainder)
        assert_clean(logs(captured), *events, *shown(client))
        assert "Real-time connection" in logs(captured)

    def test_subprotocol_is_the_default(self, creds: FrozenCredentials) -> None:
        """The header object goes in a URL only when the caller opts in."""
        url = "https://abc.appsync-api.us-east-1.amazonaws.com/graphql"
        assert AppSyncIAMTransport(url, credentials=creds).realtime_auth == (
            "subprotocol"
        )

    async def test_cli_with_debug(
        self,
        emulator: AppSyncEmulator,
        captured: DebugEverywhere,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        """``appsync-iam --debug query`` and a rejected one: stdout, stderr
        (DEBUG logs, tracebacks) and logs hold no secret."""
        for name in ("AWS_PROFILE", "AWS_SECURITY_TOKEN", "AWS_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
        codes = []
        for secret in (SECRET, WRONG_SECRET):
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
            args = ["--debug", "query", GET_ROOM, "-V", "id=r1"]
            args += ["--url", emulator.url, "--region", emulator.region]
            codes.append(await main(get_parser().parse_args(args)))
        out, err = capsys.readouterr()
        assert codes == [0, 1]
        assert "appsync-iam: error: HTTP 403 InvalidSignatureException" in err
        assert "appsync_iam.http: Opening HTTP session" in err  # --debug logs
        assert "Traceback" in err  # --debug shows the rejection's traceback
        assert_clean(out, err, logs(captured), *urls(emulator))


# --- what the audit reads from the emulator ---------------------------------------


class TestEmulatorRecords:
    async def test_requests_record_what_the_client_requested(
        self, emulator: AppSyncEmulator, creds: FrozenCredentials
    ) -> None:
        """``AppSyncEmulator.requests``: method, raw path and query, status
        (None when a fault dropped the connection, 101 for an upgrade)."""
        async with client_for(emulator, creds) as client:
            await client.execute_async(GET_ROOM, {"id": "r"})
            emulator.faults.reset_before_rate = 1.0
            with pytest.raises(TransportError):
                await client.execute_async(GET_ROOM, {"id": "r"})
            emulator.faults.reset_before_rate = 0.0
        async with client_for(
            emulator, FrozenCredentials(KEY, WRONG_SECRET, TOKEN)
        ) as c:
            with pytest.raises(AuthorizationError):
                await c.execute_async(GET_ROOM, {"id": "r"})
        async with client_for(
            emulator, creds, realtime_auth="query", realtime_options=FAST_REALTIME
        ) as client:
            subscription = client.subscribe(ON_MESSAGE)
            task = asyncio.ensure_future(subscription.__anext__())
            await eventually(lambda: emulator.realtime.active_subscriptions)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await subscription.aclose()
        url = emulator.url.rpartition("/graphql")[0]
        async with aiohttp_session() as session:
            async with session.get(emulator.url) as answer:
                assert answer.status == 405
            async with session.post(url + "/nope?x=1") as answer:
                assert answer.status == 404
        seen = [
            (r.method, r.path_qs.partition("?")[0], r.status) for r in emulator.requests
        ]
        assert seen == [
            ("POST", "/graphql", 200),
            ("POST", "/graphql", None),
            ("POST", "/graphql", 403),
            ("GET", "/graphql/realtime", 101),
            ("GET", "/graphql", 405),
            ("POST", "/nope", 404),
        ]
        upgrade = emulator.requests[3]
        assert upgrade.path_qs.startswith("/graphql/realtime?header=")
        assert emulator.requests[-1].path_qs == "/nope?x=1"
        assert "header=<redacted>" in repr(upgrade)
        assert_clean(*map(repr, emulator.requests))

    async def test_requests_are_bounded(self) -> None:
        """Only the newest MAX_RECORDED_REQUESTS are kept."""
        from appsync_iam.emulator._server import MAX_RECORDED_REQUESTS

        assert MAX_RECORDED_REQUESTS == 10_000
        emulator = AppSyncEmulator("chat")
        assert emulator.requests == []

    def test_principals_are_a_live_read_only_view(self) -> None:
        emulator = AppSyncEmulator("chat")
        principals = emulator.principals
        assert list(principals) == ["AKIDEXAMPLE"]
        emulator.add_principal(KEY, SECRET, TOKEN)
        assert principals[KEY].token == TOKEN
        with pytest.raises(TypeError):
            principals[KEY] = principals["AKIDEXAMPLE"]  # type: ignore[index]
        emulator.remove_principal(KEY)
        assert KEY not in principals
