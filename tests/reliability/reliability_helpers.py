"""Shared pieces of the fault-matrix, rotation and clock tests (and of
``benchmarks/soak.py``): the fault mix, the ledger that checks a batch against
what the emulator really ran, a rotating credential issuer over the emulator's
principals, and an event-loop lag monitor.

Nothing here patches ``appsync_iam``: the client is driven through its public
API, the emulator through its public state (``executed``, ``faults``,
``add_principal``), and credentials through the public credential seam.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection
from typing import Any

from appsync_iam import (
    AppSyncClient,
    CredentialSource,
    FrozenCredentials,
    HTTPStatusError,
    RequestTimeout,
    ThrottlingError,
    TransportError,
)
from appsync_iam.emulator import AppSyncEmulator

POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id roomId content } }"
)
GET_ROOM = "query GetRoom($id: ID!) { getRoom(id: $id) { id name } }"
ON_MESSAGE = (
    "subscription OnMessage($room: ID) {"
    " onMessagePosted(roomId: $room) { id roomId content } }"
)

#: Issue 7's mix: 5 % throttling, 2 % reset before execution, 1 % reset after
#: execution, 1 % HTTP 5xx, and 0-5 ms of random latency on every request.
FAULT_MIX: dict[str, float] = {
    "throttle_rate": 0.05,
    "reset_before_rate": 0.02,
    "reset_after_rate": 0.01,
    "error_5xx_rate": 0.01,
}
LATENCY_MS = (0.0, 5.0)
FAULT_KINDS = ("throttle", "reset_before", "reset_after", "error_5xx")


def inject_fault_mix(emulator: AppSyncEmulator, seed: int) -> None:
    """Turn on :data:`FAULT_MIX` and :data:`LATENCY_MS`, counters zeroed, seeded."""
    faults = emulator.faults
    faults.clear()
    faults.seed(seed)
    for name, rate in FAULT_MIX.items():
        setattr(faults, name, rate)
    faults.latency_ms = LATENCY_MS


# --- outcomes -------------------------------------------------------------------


def outcome(error: Exception | None) -> str:
    """What a result says about whether its operation ran.

    ``"ok"``; ``"reset"``, ``"timeout"`` or ``"5xx"`` when it *may* have run
    (the request was sent and no 4xx came back: ``TransportError.sent`` or an
    HTTP 5xx, which the client never retries for a mutation by default); or
    ``"not-run:<Type>"`` when the error says AppSync did not run it (a 4xx
    such as throttling, or a request never sent).
    """
    if error is None:
        return "ok"
    if isinstance(error, RequestTimeout) and error.sent:
        return "timeout"
    if isinstance(error, TransportError) and error.sent:
        return "reset"
    if isinstance(error, HTTPStatusError) and not isinstance(error, ThrottlingError):
        if error.status >= 500:
            return "5xx"
    return f"not-run:{type(error).__name__}"


def is_ambiguous(kind: str) -> bool:
    """True for the outcomes after which the operation may have run."""
    return kind in ("reset", "timeout", "5xx")


# --- a batch and its ledger -----------------------------------------------------


@dataclass
class Batch:
    """What ``execute_many`` yielded for ``n`` inputs whose ids are ``tag-<index>``."""

    tag: str
    n: int
    seen: bytearray
    outcomes: dict[int, str] = field(default_factory=dict)  # index → outcome
    mismatched: int = 0  # results whose variables are not their input's
    wall: float = 0.0

    def ident(self, index: int) -> str:
        return f"{self.tag}-{index}"

    def index_of(self, ident: str) -> int | None:
        prefix, _, number = ident.rpartition("-")
        if prefix != self.tag or not number.isdigit():
            return None
        index = int(number)
        return index if index < self.n else None

    @property
    def yielded_once(self) -> bool:
        """Every input yielded exactly once, carrying its own variables."""
        return self.mismatched == 0 and self.seen.count(1) == self.n

    def with_outcome(self, predicate: Any) -> set[int]:
        return {i for i, kind in self.outcomes.items() if predicate(kind)}

    @property
    def ok(self) -> set[int]:
        return self.with_outcome(lambda kind: kind == "ok")

    @property
    def ambiguous(self) -> set[int]:
        return self.with_outcome(is_ambiguous)

    @property
    def not_run(self) -> set[int]:
        return self.with_outcome(lambda kind: kind.startswith("not-run"))

    def kinds(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    @property
    def throughput(self) -> float:
        return self.n / self.wall if self.wall else 0.0


async def run_batch(
    client: AppSyncClient,
    query: str,
    variables: Iterable[dict[str, Any]],
    batch: Batch,
    key: str,
    *,
    concurrency: int = 32,
    ordered: bool = True,
) -> Batch:
    """Stream ``variables`` through ``execute_many``; record each result in ``batch``.

    ``variables[key]`` must be ``batch.ident(index)``: a result whose index
    and variables disagree counts as mismatched.
    """
    started = time.perf_counter()
    async with client.execute_many(
        query, variables, concurrency=concurrency, ordered=ordered
    ) as results:
        async for result in results:
            index = result.index
            if 0 <= index < batch.n:
                batch.seen[index] = min(batch.seen[index] + 1, 255)
            vars_ = result.variables or {}
            if vars_.get(key) != batch.ident(index):
                batch.mismatched += 1
            batch.outcomes[index] = outcome(result.error)
    batch.wall = time.perf_counter() - started
    return batch


def inputs(batch: Batch, key: str, **fixed: Any) -> Iterator[dict[str, Any]]:
    """A generator of one variables mapping per input, ``key`` = the input's id."""
    for index in range(batch.n):
        yield {**fixed, key: batch.ident(index)}


def executed_counts(
    emulator: AppSyncEmulator, batch: Batch, field_name: str, argument: str
) -> Counter[int]:
    """How many times the emulator ran ``field_name`` for each input of ``batch``."""
    counts: Counter[int] = Counter()
    for op in emulator.executed:
        if op.field == field_name:
            index = batch.index_of(str(op.arguments.get(argument, "")))
            if index is not None:
                counts[index] += 1
    return counts


def mutation_ledger(
    batch: Batch, executed: Counter[int], injected: Counter[str]
) -> list[str]:
    """Every broken promise of a mutation batch run with ``retry_mutations=False``.

    The accounting (decision 10: a mutation is never sent twice unless the
    caller opts in):

    - every input appears exactly once in the results;
    - the emulator ran no mutation twice;
    - successes ⊆ executed ⊆ successes ∪ ambiguous failures, and no failure
      that says "did not run" (a 4xx, e.g. throttling after the last
      attempt) was executed;
    - executed = successes + the ambiguous failures that ran;
    - the ambiguous failures that ran are exactly the injected resets after
      execution, and the ones that did not run are exactly the injected
      resets before execution plus the injected 5xx answers;
    - requests that reached the emulator (one latency draw each) = inputs +
      throttled attempts that were retried.

    Returns a list of human-readable violations (empty when all hold).
    """
    problems: list[str] = []
    ran = {i for i, count in executed.items() if count > 0}
    ok, ambiguous, not_run = batch.ok, batch.ambiguous, batch.not_run
    kinds = batch.kinds()
    if not batch.yielded_once:
        problems.append(
            f"inputs not yielded exactly once: {batch.seen.count(0)} missing, "
            f"{batch.n - batch.seen.count(0) - batch.seen.count(1)} repeated, "
            f"{batch.mismatched} with other variables"
        )
    twice = sorted(i for i, count in executed.items() if count > 1)
    if twice:
        problems.append(f"{len(twice)} mutations ran twice, e.g. {twice[:5]}")
    if not ok <= ran:
        problems.append(f"{len(ok - ran)} successes were never executed")
    if not ran <= ok | ambiguous:
        problems.append(
            f"{len(ran - ok - ambiguous)} executed mutations reported as "
            "neither success nor ambiguous failure"
        )
    if ran & not_run:
        problems.append(f"{len(ran & not_run)} 'did not run' failures were executed")
    if len(ran) != len(ok) + len(ambiguous & ran):
        problems.append(
            f"executed {len(ran)} != successes {len(ok)} + ambiguous that ran "
            f"{len(ambiguous & ran)}"
        )
    ran_ambiguous = Counter(batch.outcomes[i] for i in ambiguous & ran)
    if injected["reset_after"] != len(ambiguous & ran) or set(ran_ambiguous) - {
        "reset"
    }:
        problems.append(
            f"injected reset_after {injected['reset_after']} != ambiguous "
            f"failures that ran {dict(ran_ambiguous)}"
        )
    not_ran_ambiguous = Counter(batch.outcomes[i] for i in ambiguous - ran)
    if not_ran_ambiguous["reset"] != injected["reset_before"]:
        problems.append(
            f"injected reset_before {injected['reset_before']} != resets that "
            f"did not run {not_ran_ambiguous['reset']}"
        )
    fivexx = {i for i in ambiguous if batch.outcomes[i] == "5xx"}
    if fivexx & ran or len(fivexx) != injected["error_5xx"]:
        problems.append(
            f"injected error_5xx {injected['error_5xx']} != 5xx failures "
            f"{len(fivexx)}, {len(fivexx & ran)} of which ran (the emulator "
            "answers 5xx before running)"
        )
    final_throttles = kinds["not-run:ThrottlingError"]
    expected_requests = batch.n + injected["throttle"] - final_throttles
    if injected["latency"] != expected_requests:
        problems.append(
            f"requests seen {injected['latency']} != inputs {batch.n} + retried "
            f"throttles {injected['throttle'] - final_throttles}"
        )
    return problems


def retried_ledger(
    batch: Batch, executed: Counter[int], injected: Counter[str]
) -> list[str]:
    """Every broken promise of a batch in which every fault is retried.

    For queries, and for mutations with ``retry_mutations=True``: every input
    appears exactly once; every fault but the last one of a failed input was
    retried (requests = inputs + faults - failures), so an input fails only
    after exhausting its attempts; every success ran at least once; and the
    extra executions are exactly the injected resets after execution that
    were retried (the duplicates an opted-in mutation can cause).
    """
    problems: list[str] = []
    failed = set(batch.outcomes) - batch.ok
    if not batch.yielded_once:
        problems.append("inputs not yielded exactly once")
    faults = sum(injected[kind] for kind in FAULT_KINDS)
    if injected["latency"] != batch.n + faults - len(failed):
        problems.append(
            f"requests seen {injected['latency']} != inputs {batch.n} + faults "
            f"{faults} - failed inputs {len(failed)}: a fault was not retried"
        )
    never = batch.ok - {i for i, count in executed.items() if count > 0}
    if never:
        problems.append(f"{len(never)} successes were never executed")
    last_reset_after = {
        i for i in failed if batch.outcomes[i] == "reset" and executed[i] > 0
    }
    extra = sum(executed.values()) - len(+executed)
    retried_after = injected["reset_after"] - len(last_reset_after)
    if extra != retried_after:
        problems.append(
            f"extra executions {extra} != retried resets after execution "
            f"{retried_after}"
        )
    return problems


# --- credentials that rotate ----------------------------------------------------


#: ``register(access_key, secret_key, token, expires_at)``: make a principal
#: known to the emulator (``AppSyncEmulator.add_principal`` or
#: :meth:`EmulatorProcess.add_principal`). Called from a worker thread.
Register = Callable[[str, str, str, datetime], object]


class RotatingIssuer:
    """An async credential provider over the emulator's principals, like STS.

    Each call spends ``delay`` seconds in a worker thread (a slow STS or IMDS
    call, off the event loop) and registers a fresh temporary key pair with
    the emulator there, then returns it. The emulator expires the token after
    ``server_lifetime`` seconds; the credentials say they last ``lifetime``
    seconds (the same by default; shorter on the server side emulates a
    token that stops working before the client expected, as a server clock
    ahead of ours would). Old principals stay valid until their own expiry,
    as AWS keeps issued session credentials valid until they expire.

    ``windows`` holds the ``perf_counter`` span of each issue.
    """

    def __init__(
        self,
        register: Register,
        *,
        lifetime: float = 3.0,
        server_lifetime: float | None = None,
        delay: float = 0.2,
    ) -> None:
        self.register = register
        self.lifetime = lifetime
        self.server_lifetime = lifetime if server_lifetime is None else server_lifetime
        self.delay = delay
        self.issued: list[str] = []
        self.windows: list[tuple[float, float]] = []

    def _issue_blocking(self, key: str) -> FrozenCredentials:
        time.sleep(self.delay)
        secret = secrets.token_urlsafe(30)
        token = secrets.token_urlsafe(300)
        now = datetime.now(timezone.utc)
        self.register(key, secret, token, now + timedelta(seconds=self.server_lifetime))
        return FrozenCredentials(
            key, secret, token, now + timedelta(seconds=self.lifetime)
        )

    async def __call__(self) -> FrozenCredentials:
        started = time.perf_counter()
        key = f"ASIAROTATE{len(self.issued):010d}"
        self.issued.append(key)
        credentials = await asyncio.to_thread(self._issue_blocking, key)
        self.windows.append((started, time.perf_counter()))
        return credentials


class CountingSource:
    """A credential source that counts forced refreshes of the one it wraps.

    The client calls ``refresh()`` only after AppSync rejected a token as
    expired; ``get_frozen()`` is every request's ordinary path.
    """

    def __init__(self, inner: CredentialSource) -> None:
        self.inner = inner
        self.forced = 0

    async def get_frozen(self) -> FrozenCredentials:
        return await self.inner.get_frozen()

    async def refresh(self) -> FrozenCredentials:
        self.forced += 1
        return await self.inner.refresh()


# --- event-loop lag -------------------------------------------------------------


class LagMonitor:
    """A task that sleeps ``interval`` seconds in a loop and records the overshoot.

    An event loop blocked for ``x`` ms (a sync call, a long callback) shows
    as a sample of about ``x`` ms. Use as ``async with LagMonitor() as lag:``.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (woke at, lag seconds)
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.samples.append((now, max(0.0, now - before - self.interval)))

    async def __aenter__(self) -> LagMonitor:
        # A full collection over what earlier tests left on the heap (seen in
        # full runs: 0.25-0.37 s pauses) is not a stall of the code under
        # watch: collect it, then keep the survivors out of the collector's
        # scans until the monitor stops (what this test allocates is
        # collected as usual).
        gc.collect()
        gc.freeze()
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        gc.unfreeze()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def max_lag(self) -> float:
        """The worst overshoot, seconds."""
        return max((lag for _, lag in self.samples), default=0.0)

    def max_lag_during(self, windows: Iterable[tuple[float, float]]) -> float:
        """The worst overshoot of a sleep that ended inside or just after a window.

        A sleep overlapping a window ends at most ``interval`` + its lag after
        the window's end, so a stall caused inside the window is counted.
        """
        spans = list(windows)
        worst = 0.0
        for woke, lag in self.samples:
            started = woke - lag - self.interval
            if any(started <= end and woke >= begin for begin, end in spans):
                worst = max(worst, lag)
        return worst


async def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.01) -> None:
    """Wait until ``predicate()`` is true; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


# --- the emulator in a child process ------------------------------------------


class EmulatorProcess:
    """The emulator in a child process: its own core, event loop and heap.

    So that an event-loop lag monitor in this process measures the client
    alone, as it would be against the real AppSync. Driven over a pipe::

        with EmulatorProcess() as server:
            client = AppSyncClient(server.url, credentials=server.credentials)
            server.add_principal(key, secret, token, expires_at)
            server.executed()  # [(operation_type, field, arguments, access_key)]
    """

    def __init__(self, schema: str = "chat", seed: int | None = None) -> None:
        self.schema = schema
        self.seed = seed
        self._lock = threading.Lock()
        self.url = ""
        self.credentials = FrozenCredentials("-", "-")

    def __enter__(self) -> EmulatorProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_child,
            args=(child, self.schema, self.seed),
            name="appsync-emulator",
            daemon=True,
        )
        self._process.start()
        child.close()
        try:
            if not self._conn.poll(CHILD_TIMEOUT):
                raise EOFError
            self.url, access_key, secret_key = self._conn.recv()
        except EOFError:
            self._process.kill()
            self._process.join(CHILD_TIMEOUT)
            self._conn.close()
            raise RuntimeError("the emulator process did not start") from None
        self.credentials = FrozenCredentials(access_key, secret_key)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._call("stop")
        finally:
            self._process.join(CHILD_TIMEOUT)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(CHILD_TIMEOUT)
            self._conn.close()

    def _call(self, *message: Any) -> Any:
        with self._lock:
            self._conn.send(message)
            if not self._conn.poll(CHILD_TIMEOUT):
                raise RuntimeError(f"the emulator process did not answer {message[0]}")
            return self._conn.recv()

    def add_principal(
        self, access_key: str, secret_key: str, token: str, expires_at: datetime
    ) -> None:
        """``AppSyncEmulator.add_principal`` in the child (blocking: use a thread)."""
        self._call("add_principal", access_key, secret_key, token, expires_at)

    def remove_principal(self, access_key: str) -> None:
        """``AppSyncEmulator.remove_principal`` in the child (blocking)."""
        self._call("remove_principal", access_key)

    def statuses(self) -> Counter[int | None]:
        """HTTP statuses of the newest 10,000 requests (``emulator.requests``)."""
        result: Counter[int | None] = self._call("statuses")
        return result

    def executed(self) -> list[tuple[str, str, dict[str, Any], str]]:
        """The child's ``emulator.executed``, as plain tuples."""
        result: list[tuple[str, str, dict[str, Any], str]] = self._call("executed")
        return result


CHILD_TIMEOUT = 30.0


def _serve_child(conn: Connection, schema: str, seed: int | None) -> None:
    asyncio.run(_serve_child_async(conn, schema, seed))


async def _serve_child_async(conn: Connection, schema: str, seed: int | None) -> None:
    loop = asyncio.get_running_loop()
    async with AppSyncEmulator(schema, seed=seed) as emulator:
        credentials = emulator.credentials
        conn.send((emulator.url, credentials.access_key, credentials.secret_key))
        while True:
            try:
                command, *args = await loop.run_in_executor(None, conn.recv)
            except EOFError:
                return  # the parent went away
            if command == "stop":
                conn.send(None)
                return
            if command == "add_principal":
                emulator.add_principal(*args)
                conn.send(None)
            elif command == "remove_principal":
                emulator.remove_principal(*args)
                conn.send(None)
            elif command == "executed":
                conn.send([tuple(op) for op in emulator.executed])
            elif command == "statuses":
                conn.send(Counter(r.status for r in emulator.requests))
            else:
                conn.send(None)
