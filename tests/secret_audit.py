"""pytest plugin: the secret audit (issue 7, point 6), on for the whole suite.

Every test runs with the root logger, and every logger that has a level of
its own, at :data:`AUDIT_LEVEL` (below DEBUG). A handler on the root logger
(and on any logger that does not propagate) keeps each record as text: the
formatted message, ``repr`` of its arguments, the full traceback of
``exc_info`` (chained exceptions included) and ``stack_info``. Other handlers
(pytest's ``caplog``, a test's own) get a filter that hides what they would
not have seen without the audit, so tests asserting on logs see what they
always saw. After teardown the audit scans, with :func:`find_leaks`:

- the log records;
- the test's captured stdout and stderr;
- the URLs (path and query string) every emulator received during the test
  (:attr:`AppSyncEmulator.requests`): the emulators among the test's
  fixtures, and any other found up the stack of its own log records.

It looks for:

- **secrets**: every secret access key and session token the suite uses,
  collected generically (:func:`suite_secrets`: literals in credential
  positions across ``tests/``, ``examples/`` and ``benchmarks/``), plus the
  principals of every emulator seen, credentials among the fixtures and the
  AWS variables of ``os.environ``; raw, percent-encoded, or inside base64;
- **signatures**: any run of exactly 64 lowercase hex digits (a SigV4
  signature; the client sends no content hash, request ids are UUIDs);
- **the real-time header object**: a ``header-<base64url>`` subprotocol, or
  base64 that decodes to ``AWS4-HMAC-SHA256``, an ``"Authorization"`` key or
  ``x-amz-security-token``;
- **a session token written out**: ``x-amz-security-token: <value>``.

A real-time URL in the documented opt-in ``realtime_auth="query"`` form
carries the header object on purpose: its signature and token are exempt,
everything else in it (the secret key above all) is scanned. A leak fails
the test at teardown; the report masks the leaked text.

Two exceptions keep the audit about the product. A record of a third-party
library with no ``appsync_iam`` frame on the stack and no exception raised
in ``appsync_iam`` (a test signing with botocore's ``SigV4Auth.add_auth``,
which DEBUG-logs its signature) is the test's doing: counted, not scanned.
A 64-hex run where AppSync itself writes a public SHA-256 (after
``x-amz-content-sha256:``, or closing the canonical request or string-to-sign
it echoes in a signature error) is not a signature.
``@pytest.mark.secret_audit_exempt(reason)`` skips a test that writes a
secret on purpose (only the audit's own self-test does). ``APPSYNC_IAM_AUDIT=0`` turns
the audit off; ``make audit`` runs the suite and prints the totals.
"""

from __future__ import annotations

import ast
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, unquote_plus

import pytest

import appsync_iam
from appsync_iam import FrozenCredentials
from appsync_iam.emulator import DEFAULT_SECRET_KEY, AppSyncEmulator

ENV_SWITCH = "APPSYNC_IAM_AUDIT"
#: Secrets shorter than this ("s", "tok", "wrong") are too common as text to
#: look for; the summary counts them as too short.
MIN_SECRET_LENGTH = 8
#: Where the suite writes its secrets.
SOURCE_ROOTS = ("tests", "examples", "benchmarks")
AWS_SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
#: The level the audit gives loggers: below DEBUG, so that a test's own
#: ``caplog.set_level(logging.DEBUG)`` is a change the filter can see.
AUDIT_LEVEL = 1

#: 64 lowercase hex digits: a signature. Two places where AppSync itself
#: writes public SHA-256 hashes are not: an ``x-amz-content-sha256:`` value,
#: and the last line of the canonical request or string-to-sign it echoes in
#: a signature error (a line ending with the echo's closing quote).
#: (A newline may be written ``\n`` in a repr.)
SIGNATURE = re.compile(
    r"(?<![0-9a-fA-F])(?<!x-amz-content-sha256:)"
    r"(?!(?:(?<=\n)|(?<=\\n))[0-9a-f]{64}'(?:\n|\\n))"
    r"[0-9a-f]{64}(?![0-9a-fA-F])"
)
HEADER_SUBPROTOCOL = re.compile(r"header-(?!<redacted>)[A-Za-z0-9_-]{16,}")
#: base64 or base64url, possibly percent-encoded (the query auth form).
BASE64_RUN = re.compile(r"(?:[A-Za-z0-9+/_-]|%2[BbFf]|%3[Dd]){40,}(?:=|%3[Dd]){0,2}")
TOKEN_HEADER = re.compile(
    r"(?i)x-amz-security-token[\"']?\s*[:=]\s*[\"']?(?!<redacted>)[^\s\"',&;)}\]<]+"
)
_AUTH_MARKERS = ("aws4-hmac-sha256", '"authorization"', "x-amz-security-token")


# --- the scanner ---------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """One secret found in one channel; ``context`` has the secret masked."""

    channel: str
    kind: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.channel}: …{self.context}…"


def _mask(text: str, start: int, end: int, kind: str, secrets: set[str]) -> str:
    """The leak's surroundings, with the leak and anything else secret masked
    (the report must not leak in turn)."""
    before = text[max(0, start - 40) : start]
    after = text[end : end + 40]
    context = f"{before}«{kind}, {end - start} chars»{after}"
    for secret in secrets:
        context = context.replace(secret, "«secret»")
    for pattern in (SIGNATURE, TOKEN_HEADER, HEADER_SUBPROTOCOL, BASE64_RUN):
        context = pattern.sub("«masked»", context)
    return context.replace("\n", "⏎")


def b64_text(run: str) -> str | None:
    """``run`` decoded as (percent-encoded) base64 or base64url, or None."""
    text = unquote(run).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", "replace")


def find_leaks(
    text: str, secrets: Iterable[str], *, channel: str = "text"
) -> list[Leak]:
    """Every secret, signature, header object or token header in ``text``.

    ``secrets`` are the literal secret keys and tokens to look for, found raw,
    percent-encoded or inside a base64 run; those shorter than
    :data:`MIN_SECRET_LENGTH` are ignored.
    """
    secrets = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
    leaks: list[Leak] = []

    def add(kind: str, start: int, end: int) -> None:
        leaks.append(Leak(channel, kind, _mask(text, start, end, kind, secrets)))

    decoded = {text, unquote(text), unquote_plus(text), text.replace("\\/", "/")}
    for secret in secrets:
        if any(secret in haystack for haystack in decoded):
            start = max(text.find(secret), 0)  # -1: written encoded
            add("secret", start, start + len(secret))
    for pattern, kind in (
        (SIGNATURE, "signature"),
        (TOKEN_HEADER, "x-amz-security-token value"),
        (HEADER_SUBPROTOCOL, "header subprotocol"),
    ):
        for match in pattern.finditer(text):
            add(kind, *match.span())
    for match in BASE64_RUN.finditer(text):
        content = b64_text(match.group())
        if content is None:
            continue
        if any(secret in content for secret in secrets):
            add("secret in base64", *match.span())
        elif any(marker in content.lower() for marker in _AUTH_MARKERS):
            add("header object", *match.span())
    return leaks


def query_auth_remainder(path_qs: str) -> str | None:
    """For a real-time URL in the opt-in ``realtime_auth="query"`` form, the
    URL with the header object decoded and its ``Authorization`` and
    ``x-amz-security-token`` (there on purpose) removed; else None."""
    path, _, query = path_qs.partition("?")
    if not path.endswith("/realtime"):
        return None
    parts = dict(part.partition("=")[::2] for part in query.split("&"))
    if "header" not in parts or "payload" not in parts:
        return None
    decoded = b64_text(parts.pop("header"))
    try:
        header = json.loads(decoded) if decoded is not None else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        return None
    rest = {
        k: v
        for k, v in header.items()
        if str(k).lower() not in ("authorization", "x-amz-security-token")
    }
    return f"{path}?{parts} {rest}"


# --- the suite's secrets ---------------------------------------------------------

_SECRET_NAME = re.compile(r"(?i)secret|token")
_SECRET_KEYWORDS = frozenset(
    {
        "secret_key",
        "token",
        "secret_access_key",
        "session_token",
        "aws_secret_access_key",
        "aws_session_token",
        "SecretAccessKey",
        "SessionToken",
    }
)
_SECRET_DICT_KEYS = _SECRET_KEYWORDS | frozenset(AWS_SECRET_VARIABLES)
#: Calls whose 2nd and 3rd positional arguments are a secret key and a token.
_CREDENTIAL_CALLS = frozenset(
    {
        "FrozenCredentials",
        "StaticCredentials",
        "add_principal",
        "Principal",
        "Credentials",
        "ReadOnlyCredentials",
    }
)
_PROFILE_LINE = re.compile(
    r"(?im)^\s*aws_(?:secret_access_key|session_token|security_token)\s*=\s*(\S+)"
)


def _string(node: ast.AST | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return node.func.id if isinstance(node.func, ast.Name) else ""


def _secrets_in_node(node: ast.AST, constants: dict[str, str]) -> Iterator[str | None]:
    if isinstance(node, ast.Call):
        name = _call_name(node)
        if name in _CREDENTIAL_CALLS:
            yield from (_string(arg, constants) for arg in node.args[1:3])
        if name in ("setenv", "__setitem__") and len(node.args) >= 2:
            if _string(node.args[0], constants) in AWS_SECRET_VARIABLES:
                yield _string(node.args[1], constants)
        for keyword in node.keywords:
            if keyword.arg in _SECRET_KEYWORDS:
                yield _string(keyword.value, constants)
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if _string(key, constants) in _SECRET_DICT_KEYS:
                yield _string(value, constants)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from _PROFILE_LINE.findall(node.value)


def secrets_in_source(source: str) -> set[str]:
    """Secret keys and tokens written in one Python file: module constants
    named ``*SECRET*``/``*TOKEN*``, the secret and token arguments of
    ``FrozenCredentials``, ``StaticCredentials``, ``add_principal``,
    ``Principal`` and botocore's ``Credentials``, ``secret_key=``/``token=``
    keywords, ``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` values and
    ``aws_secret_access_key =`` lines of profile files."""
    tree = ast.parse(source)
    constants: dict[str, str] = {}
    found: set[str | None] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    constants[target.id] = node.value.value
                    if _SECRET_NAME.search(target.id):
                        found.add(node.value.value)
    for any_node in ast.walk(tree):
        found.update(_secrets_in_node(any_node, constants))
    return {s for s in found if s}


def suite_secrets(root: Path) -> set[str]:
    """Every secret written in the suite's sources, and the emulator's default."""
    found = {DEFAULT_SECRET_KEY}
    for top in SOURCE_ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            try:
                found |= secrets_in_source(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):
                continue
    return found


def secrets_of(objects: Iterable[Any]) -> set[str]:
    """Secrets held by fixture values: emulators, credentials, env dicts."""
    found: set[str | None] = set()
    for obj in objects:
        if isinstance(obj, AppSyncEmulator):
            found.update(
                s for p in obj.principals.values() for s in (p.secret_key, p.token)
            )
        elif isinstance(obj, FrozenCredentials):
            found.update((obj.secret_key, obj.token))
        elif isinstance(obj, dict):
            found.update(obj.get(name) for name in AWS_SECRET_VARIABLES)
    return {s for s in found if isinstance(s, str) and s}


def environment_secrets() -> set[str]:
    return {os.environ[name] for name in AWS_SECRET_VARIABLES if os.environ.get(name)}


# --- capturing every log record ------------------------------------------------


def record_text(record: logging.LogRecord) -> str:
    """Everything a log record could write: message, args, traceback, stack."""
    parts = [record.name]
    try:
        parts.append(record.getMessage())
    except Exception:  # a broken record still has its raw parts
        parts.append(repr(record.msg))
    if record.args:
        try:
            parts.append(repr(record.args))
        except Exception:
            parts.append("<args without a repr>")
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


_PRODUCT_DIR = str(Path(appsync_iam.__file__).resolve().parent)


def _in_product(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PRODUCT_DIR):
            return True
        frame = frame.f_back
    return False


def _raised_in_product(exc: BaseException | None) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith(_PRODUCT_DIR):
                return True
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    return False


def involves_product(record: logging.LogRecord) -> bool:
    """True if ``appsync_iam`` code logged the record, is on the stack that
    logged it, or raised the exception it carries (aiohttp's server and
    asyncio log exceptions of the emulator's handlers and the client's tasks
    after those frames are gone)."""
    if record.name.startswith("appsync_iam") or _in_product(sys._getframe(1)):
        return True
    exc_info = record.exc_info
    return exc_info is not None and _raised_in_product(exc_info[1])


def emulator_on_stack() -> AppSyncEmulator | None:
    """The emulator whose code is logging (a ``self`` up the call stack)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        obj = frame.f_locals.get("self")
        if type(obj).__module__.startswith("appsync_iam.emulator"):
            for candidate in (obj, getattr(obj, "_emulator", None)):
                if isinstance(candidate, AppSyncEmulator):
                    return candidate
        frame = frame.f_back
    return None


class CapturingHandler(logging.Handler):
    """Keeps the text of every record it sees (any level, any thread).

    Each ``appsync_iam.emulator`` record also finds the emulator that logged
    it: :attr:`emulators` holds every emulator active during the test, and
    :attr:`secrets` every principal they had when they logged (secrets
    rotated away since included).
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.texts: list[str] = []
        self.third_party = 0
        self.emulators: dict[int, AppSyncEmulator] = {}
        self.secrets: set[str] = set()
        self.seconds = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        started = time.perf_counter()
        if not involves_product(record):
            self.third_party += 1
        else:
            self.texts.append(record_text(record))
            if record.name.startswith("appsync_iam.emulator"):
                emulator = emulator_on_stack()
                if emulator is not None:
                    self.emulators[id(emulator)] = emulator
                    self.secrets |= secrets_of([emulator])
        self.seconds += time.perf_counter() - started


def _loggers() -> list[logging.Logger]:
    return [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]


@dataclass
class DebugEverywhere:
    """Root and every leveled logger at :data:`AUDIT_LEVEL`, :attr:`handler`
    attached; other handlers filtered to what they saw before; undoable."""

    handler: CapturingHandler = field(default_factory=CapturingHandler)
    _levels: dict[logging.Logger, int] = field(default_factory=dict)
    _attached: list[logging.Logger] = field(default_factory=list)
    _filtered: list[logging.Handler] = field(default_factory=list)

    def install(self) -> None:
        root = logging.getLogger()
        for logger in [root, *_loggers()]:
            if logger is root or logger.level > AUDIT_LEVEL:
                self._levels[logger] = logger.level
                logger.setLevel(AUDIT_LEVEL)
            if logger is root or not logger.propagate:
                logger.addHandler(self.handler)
                self._attached.append(logger)

    def uninstall(self) -> None:
        self.unfilter_handlers()
        for logger in self._attached:
            logger.removeHandler(self.handler)
        for logger, level in self._levels.items():
            if logger.level == AUDIT_LEVEL:  # unless the test set its own
                logger.setLevel(level)
        self._attached.clear()
        self._levels.clear()

    def original_level(self, name: str) -> int:
        """The effective level of logger ``name`` without the audit."""
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None:
            level = logger.level
            if level == AUDIT_LEVEL and logger in self._levels:
                level = self._levels[logger]
            if level:
                return level
            logger = logger.parent
        return logging.NOTSET

    def filter(self, record: logging.LogRecord) -> bool:
        """For other handlers: only what they would have seen without the audit."""
        return record.levelno >= self.original_level(record.name)

    def filter_handlers(self) -> None:
        for logger in [logging.getLogger(), *_loggers()]:
            for handler in logger.handlers:
                if isinstance(handler, CapturingHandler):
                    continue  # another audit's (a test of the audit)
                if self.filter not in handler.filters:
                    handler.addFilter(self.filter)
                    self._filtered.append(handler)

    def unfilter_handlers(self) -> None:
        for handler in self._filtered:
            handler.removeFilter(self.filter)
        self._filtered.clear()


# --- the plugin -----------------------------------------------------------------


@dataclass
class _TestState:
    logging: DebugEverywhere = field(default_factory=DebugEverywhere)
    fixtures: list[Any] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)


@dataclass
class Totals:
    tests: int = 0
    exempt: int = 0
    records: int = 0
    third_party_records: int = 0
    output_sections: int = 0
    characters: int = 0
    emulators: int = 0
    urls: int = 0
    query_auth_urls: int = 0
    leaks: int = 0
    seconds: float = 0.0
    secrets: set[str] = field(default_factory=set)


class SecretAudit:
    """The hooks; one instance per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.totals = Totals()
        self._suite_secrets: set[str] | None = None
        self._states: dict[str, _TestState] = {}

    @property
    def suite_secrets(self) -> set[str]:
        if self._suite_secrets is None:
            self._suite_secrets = suite_secrets(self.root)
        return self._suite_secrets

    # Outermost around the test: DEBUG on before setup, off after teardown.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        state = _TestState()
        self._timed(state.logging.install)
        self._states[item.nodeid] = state
        return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        try:
            return (yield)
        finally:
            state = self._states.get(item.nodeid)
            if state is not None:
                self._timed(state.logging.uninstall)

    # Innermost around each phase, once pytest's log handlers are attached.
    @pytest.hookimpl(wrapper=True, trylast=True, specname="pytest_runtest_setup")
    def _setup_phase(self, item: pytest.Item) -> Iterator[None]:
        with self._phase(item):
            return (yield)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        state = self._states.get(item.nodeid)
        if state is not None:
            state.fixtures = list(getattr(item, "funcargs", {}).values())
        with self._phase(item):
            try:
                return (yield)
            finally:
                if state is not None:
                    state.secrets |= environment_secrets()

    @pytest.hookimpl(wrapper=True, trylast=True, specname="pytest_runtest_teardown")
    def _teardown_phase(self, item: pytest.Item) -> Iterator[None]:
        with self._phase(item):
            return (yield)

    @contextlib.contextmanager
    def _phase(self, item: pytest.Item) -> Iterator[None]:
        state = self._states.get(item.nodeid)
        if state is None:
            yield
            return
        self._timed(state.logging.filter_handlers)
        try:
            yield
        finally:
            self._timed(state.logging.unfilter_handlers)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "teardown":
            state = self._states.pop(item.nodeid, None)
            if state is not None:
                self._timed(lambda: self._audit(item, report, state))
        return report

    def _timed(self, action: Any) -> None:
        started = time.perf_counter()
        try:
            action()
        finally:
            self.totals.seconds += time.perf_counter() - started

    # -- the audit of one test ---------------------------------------------------

    def _audit(
        self, item: pytest.Item, report: pytest.TestReport, state: _TestState
    ) -> None:
        totals = self.totals
        handler = state.logging.handler
        totals.tests += 1
        totals.seconds += handler.seconds
        if item.get_closest_marker("secret_audit_exempt") is not None:
            totals.exempt += 1
            return
        emulators = {id(o): o for o in state.fixtures if isinstance(o, AppSyncEmulator)}
        emulators.update(handler.emulators)
        secrets = (
            self.suite_secrets
            | state.secrets
            | handler.secrets
            | secrets_of([*state.fixtures, *emulators.values()])
        )
        channels = [("log records", "\n".join(handler.texts))]
        channels += [
            (name, content)
            for name, content in report.sections
            if not name.startswith("Captured log")  # the same records, filtered
        ]
        channels += self._urls(emulators.values())
        leaks = [
            leak
            for channel, text in channels
            for leak in find_leaks(text, secrets, channel=channel)
        ]
        totals.secrets |= secrets
        totals.records += len(handler.texts)
        totals.third_party_records += handler.third_party
        totals.output_sections += len(channels) - 1 - len(emulators)
        totals.characters += sum(len(text) for _, text in channels)
        totals.emulators += len(emulators)
        if leaks:
            totals.leaks += len(leaks)
            report.outcome = "failed"
            report.longrepr = (
                f"secret audit: {len(leaks)} leak(s) in {item.nodeid}\n"
                + ("\n".join(f"  - {leak}" for leak in leaks[:20]))
            )

    def _urls(self, emulators: Iterable[AppSyncEmulator]) -> list[tuple[str, str]]:
        """One channel per emulator: every URL it received, the opt-in query
        auth ones with their header object's signature and token removed."""
        channels = []
        for emulator in emulators:
            lines = []
            for received in emulator.requests:
                remainder = query_auth_remainder(received.path_qs)
                self.totals.urls += 1
                self.totals.query_auth_urls += remainder is not None
                lines.append(received.path_qs if remainder is None else remainder)
            channels.append((f"URLs requested from {emulator!r}", "\n".join(lines)))
        return channels

    def summary(self) -> str:
        t = self.totals
        scannable = sum(len(s) >= MIN_SECRET_LENGTH for s in t.secrets)
        return (
            f"secret audit: {t.tests} tests ({t.exempt} exempt) at DEBUG; scanned "
            f"{t.records} log records ({t.third_party_records} third-party ones "
            f"from tests' own calls not scanned), {t.output_sections} captured "
            f"outputs, {t.urls} URLs requested from {t.emulators} emulators "
            f"({t.query_auth_urls} in the opt-in query auth form): "
            f"{t.characters} characters, for {scannable} secrets "
            f"({len(t.secrets) - scannable} too short to scan), signatures and "
            f"header objects; {t.leaks} leaks; audit time {t.seconds:.1f} s"
        )


_KEY = pytest.StashKey[SecretAudit]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "secret_audit_exempt(reason): the secret audit does not scan this test "
        "(for a test that writes a secret on purpose)",
    )
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return
    audit = SecretAudit(config.rootpath)
    config.stash[_KEY] = audit
    config.pluginmanager.register(audit, "appsync-secret-audit")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    audit = config.stash.get(_KEY, None)
    if audit is not None and audit.totals.tests:
        terminalreporter.write_line(audit.summary())
