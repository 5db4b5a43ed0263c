"""Microseconds per SigV4-signed HTTP request: our adapters beside the peers.

Run (one process, about 30 s)::

    .venv/bin/pip install -e '.[bench]'     # httpx, requests, the peers
    .venv/bin/python benchmarks/http_auth.py

What is measured, per candidate, with no network: build the client library's
request object for ``POST https://abc123.execute-api.eu-west-1.amazonaws.com/
prod/items?q=東京&sort=desc`` (a 200 B JSON body, a content-type header,
temporary credentials with a 1,100-character session token), then run the
auth on it (requests: ``auth(prepared)``; httpx: the first request of
``auth.sync_auth_flow(request)``; botocore: ``SigV4Auth.add_auth``; aiohttp:
``await middleware(client_request, handler)`` with a handler that returns a
stub answer at once, the coroutine driven by one ``send(None)`` since nothing
in it waits, so no event-loop cost is counted). The "build only" rows are
the same request construction without auth (aiohttp: the ``ClientRequest`` a
session builds for each hop before calling its middlewares). Two auth
columns, each with the fastest peer's figure divided by the candidate's:

- "subtracted": the candidate's build + auth batch minus its client's
  build-only batch of the same round (median over rounds); noisy, since the
  build costs 5-20x the auth;
- "pre-built": the auth step alone, timed over a batch of requests built
  before the clock starts (no subtraction; the requests are as cold in the
  CPU caches as those of a client with many in flight).

Candidates: requests-aws4auth (``AWS4Auth``), aws-requests-auth
(``AWSRequestsAuth``), httpx-auth-awssigv4 (``SigV4Auth``, called as
``auth(request)``), botocore ``SigV4Auth`` over an ``AWSRequest``;
ours: ``HttpxSigV4Auth``, ``RequestsSigV4Auth``, ``AiohttpSigV4Middleware``
(when installed, i.e. once the adapters are on main), the signing core
alone (``SigV4Signer.sign``, no request object, signing what the adapters
sign for this service: no ``x-amz-content-sha256``, as botocore), and the
signature alone as the adapters compute it for a request shape they have
seen (the body's hash and ``SigV4Signer.sign_plan`` on the cached plan).
Floors: the SHA-256 work of one signature (body hash, canonical-request
hash, HMAC with precomputed pads), its per-request part when the per-second
states are cached, and each client's cost of setting the 3 signature
headers through its public API.
A second table signs the same request with SigV4A: ``HttpxSigV4Auth``
with ``algorithm="SigV4A"`` beside botocore's CRT signer (``--no-sigv4a``
skips it; ``--no-upload`` skips the 200 MB upload table).

Timing: CPU time of this process (``time.process_time``), so time spent
descheduled on a shared machine is not counted; each candidate runs in
batches of about 20 ms of CPU, batches interleaved across candidates (cache
and frequency effects hit all alike), 21 rounds; "build + auth" is the
median of the per-batch means, the auth columns as above. Numbers from a
shared, noisy machine still vary by 10-30 % run to run; the ratios are
steadier than the absolute figures.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from hashlib import sha256
from typing import Any, NamedTuple

from appsync_iam import FrozenCredentials
from appsync_iam._signer import SigV4Signer

HOST = "abc123.execute-api.eu-west-1.amazonaws.com"
URL = f"https://{HOST}/prod/items?q=%E6%9D%B1%E4%BA%AC&sort=desc"
BODY = b'{"name":"' + b"x" * 180 + b'","n":1}'
HEADERS = {"content-type": "application/json"}
REGION, SERVICE = "eu-west-1", "execute-api"
CREDS = FrozenCredentials(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "T" * 1100
)
ROUNDS = 21
BATCH_SECONDS = 0.02


class Candidate(NamedTuple):
    """``family``: the client whose build-only row is subtracted ("none":
    nothing); ``build`` makes the request object, ``auth`` signs it (None
    for a build-only row)."""

    family: str
    build: Callable[[], Any]
    auth: Callable[[Any], object] | None = None

    def run(self) -> object:
        """Build, then sign: one call of the "build + auth" column."""
        built = self.build()
        return built if self.auth is None else self.auth(built)


def _none() -> None:
    return None


def candidates() -> dict[str, Candidate]:
    found: dict[str, Candidate] = {}
    import httpx
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def requests_build() -> requests.PreparedRequest:
        return requests.Request("POST", URL, data=BODY, headers=HEADERS).prepare()

    def httpx_build() -> httpx.Request:
        return httpx.Request("POST", URL, content=BODY, headers=HEADERS)

    def botocore_build() -> AWSRequest:
        return AWSRequest("POST", URL, data=BODY, headers=HEADERS)

    found["build only: requests"] = Candidate("requests", requests_build)
    found["build only: httpx"] = Candidate("httpx", httpx_build)
    found["build only: botocore AWSRequest"] = Candidate("botocore", botocore_build)

    botocore_auth = SigV4Auth(
        Credentials(CREDS.access_key, CREDS.secret_key, CREDS.token), SERVICE, REGION
    )
    found["peer: botocore SigV4Auth"] = Candidate(
        "botocore", botocore_build, botocore_auth.add_auth
    )

    from requests_aws4auth import AWS4Auth

    aws4auth = AWS4Auth(
        CREDS.access_key, CREDS.secret_key, REGION, SERVICE, session_token=CREDS.token
    )
    found["peer: requests-aws4auth"] = Candidate("requests", requests_build, aws4auth)

    from aws_requests_auth.aws_auth import AWSRequestsAuth

    aws_requests_auth = AWSRequestsAuth(
        CREDS.access_key, CREDS.secret_key, HOST, REGION, SERVICE, CREDS.token
    )
    found["peer: aws-requests-auth"] = Candidate(
        "requests", requests_build, aws_requests_auth
    )

    from httpx_auth_awssigv4 import SigV4Auth as HttpxAuthAwsSigV4

    httpx_peer = HttpxAuthAwsSigV4(
        CREDS.access_key, CREDS.secret_key, SERVICE, REGION, CREDS.token
    )
    found["peer: httpx-auth-awssigv4"] = Candidate("httpx", httpx_build, httpx_peer)

    found.update(_floor_candidates(httpx_build, requests_build))

    signer = SigV4Signer(REGION, SERVICE)
    found["ours: SigV4Signer.sign (core, no request object)"] = Candidate(
        "none", _none,
        lambda _: signer.sign(
            "POST", URL, HEADERS, BODY, CREDS, include_content_sha256=False
        ),
    )  # fmt: skip

    # The signature alone, as the adapters compute it for a request of a
    # shape they have seen: the body's hash, then sign_plan() on the cached
    # plan (what is left of SigV4Signer.sign without building its headers).
    if hasattr(signer, "sign_plan"):  # a checkout from before it: no row
        plan = signer.plan(
            "POST", URL, HEADERS, has_token=True, include_content_sha256=False
        )
        found["ours: body hash + SigV4Signer.sign_plan (the signature alone)"] = (
            Candidate(
                "none", _none,
                lambda _: signer.sign_plan(plan, sha256(BODY).hexdigest(), CREDS),
            )
        )  # fmt: skip

    import appsync_iam

    if hasattr(appsync_iam, "HttpxSigV4Auth"):
        ours_httpx = appsync_iam.HttpxSigV4Auth(SERVICE, REGION, credentials=CREDS)
        found["ours: HttpxSigV4Auth"] = Candidate(
            "httpx", httpx_build, lambda r: next(ours_httpx.sync_auth_flow(r))
        )
        ours_requests = appsync_iam.RequestsSigV4Auth(
            SERVICE, REGION, credentials=CREDS
        )
        found["ours: RequestsSigV4Auth"] = Candidate(
            "requests", requests_build, ours_requests
        )
        found.update(_aiohttp_candidates())
    else:
        print(
            "note: HttpxSigV4Auth / RequestsSigV4Auth are not in this checkout; "
            "their rows are missing",
            file=sys.stderr,
        )
    return found


# The headers any SigV4 auth adds to this request (values of the real size).
_SIGNATURE_HEADERS = {
    "x-amz-date": "20261203T120000Z",
    "X-Amz-Security-Token": CREDS.token or "",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/eu-west-1/"
    "execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
    "x-amz-security-token, Signature=" + "0" * 64,
}


def _floor_candidates(
    httpx_build: Callable[[], Any], requests_build: Callable[[], Any]
) -> dict[str, Candidate]:
    """What no auth can skip: the SHA-256 work of one signature (body hash,
    canonical-request hash, the HMAC of the string to sign with its pads
    precomputed, as benchmarks/sign.py's floor), and each client's own cost
    of adding the three signature headers through its public API (on a copy
    of a built request's headers, the copy included)."""
    import hashlib

    from appsync_iam._signer import canonical_request, signing_key

    canonical = canonical_request(
        "POST", URL, [*HEADERS.items(), ("host", HOST),
        ("x-amz-date", _SIGNATURE_HEADERS["x-amz-date"]),
        ("x-amz-security-token", CREDS.token or "")], hashlib.sha256(BODY).hexdigest(),
    ).encode()  # fmt: skip
    block = signing_key(CREDS.secret_key, "20261203", REGION, SERVICE).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    sts = b"AWS4-HMAC-SHA256\n20261203T120000Z\n20261203/eu-west-1/execute-api/" \
        b"aws4_request\n" + b"0" * 64  # fmt: skip

    def hashing_floor(_: object) -> str:
        hashlib.sha256(BODY).hexdigest()
        hashlib.sha256(canonical).hexdigest()
        i = inner.copy()
        i.update(sts)
        o = outer.copy()
        o.update(i.digest())
        return o.hexdigest()

    # What a signer that keeps per-second state (as ours does) still hashes
    # per request: the body, the 64-character payload hash on a copied
    # canonical-request state, and the HMAC on copied pad states.
    head = hashlib.sha256(canonical[:-64])
    sts_prefix = sts[:-64]

    def cached_hashing_floor(_: object) -> str:
        payload = hashlib.sha256(BODY).hexdigest()
        state = head.copy()
        state.update(payload.encode())
        i = inner.copy()
        i.update(sts_prefix + state.hexdigest().encode())
        o = outer.copy()
        o.update(i.digest())
        return o.hexdigest()

    # Headers set through each client's public API. "build + auth" counts a
    # copy of a built request's headers too (an upper bound, family "none":
    # a 30-80 µs build's noise would swamp a 2 µs difference); the
    # pre-built column only the setting.
    httpx_headers = httpx_build().headers
    requests_headers = requests_build().headers

    def set_headers(headers: Any) -> object:
        for name, value in _SIGNATURE_HEADERS.items():
            headers[name] = value
        return headers

    return {
        "floor: SHA-256 work of one signature": Candidate(
            "none", _none, hashing_floor
        ),
        "floor: its per-request part, with per-second states cached": Candidate(
            "none", _none, cached_hashing_floor,
        ),
        "floor: httpx: set the 3 headers on a built request's Headers": Candidate(
            "none", httpx_headers.copy, set_headers,
        ),
        "floor: requests: set the 3 on a prepared request's headers": Candidate(
            "none", requests_headers.copy, set_headers,
        ),
    }  # fmt: skip


def _aiohttp_candidates() -> dict[str, Candidate]:
    """aiohttp's build (a ``ClientRequest``, as a session makes one per hop)
    and our middleware called on it with a stub handler, driven without an
    event loop: nothing in it waits (static credentials, a bytes body), so
    one ``send(None)`` runs the coroutine to its end."""
    import asyncio

    from aiohttp import ClientRequest
    from yarl import URL as YarlURL

    import appsync_iam

    loop = asyncio.new_event_loop()  # ClientRequest keeps a loop; never run

    def aiohttp_build() -> ClientRequest:
        return ClientRequest(
            "POST", YarlURL(URL), headers=HEADERS, data=BODY, loop=loop
        )

    class _Answer:
        status = 200
        headers: dict[str, str] = {}

    answer = _Answer()

    async def stub_handler(request: ClientRequest) -> _Answer:
        return answer

    middleware = appsync_iam.AiohttpSigV4Middleware(SERVICE, REGION, credentials=CREDS)

    def aiohttp_signed(request: ClientRequest) -> object:
        step = middleware(request, stub_handler)  # type: ignore[arg-type]
        try:
            step.send(None)
        except StopIteration as done:
            return done.value
        raise RuntimeError("the middleware waited: not a CPU-only measurement")

    def update_headers(headers: Any) -> object:
        headers.update(_SIGNATURE_HEADERS)
        return headers

    return {
        "build only: aiohttp ClientRequest": Candidate("aiohttp", aiohttp_build),
        "floor: aiohttp: update a ClientRequest's headers with the 3": Candidate(
            "none", aiohttp_build().headers.copy, update_headers
        ),
        "ours: AiohttpSigV4Middleware": Candidate(
            "aiohttp", aiohttp_build, aiohttp_signed
        ),
    }


def _batch_size(fn: Callable[[], object]) -> int:
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            fn()
        if time.process_time() - start >= BATCH_SECONDS:
            return n
        n *= 2


def measure_rounds(
    found: dict[str, Candidate],
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """µs per call of each candidate, one batch per round, rounds interleaved:
    (build + auth per call, auth alone per call over requests built before
    the batch's clock starts)."""
    sizes = {name: _batch_size(c.run) for name, c in found.items()}
    whole: dict[str, list[float]] = {name: [] for name in found}
    alone: dict[str, list[float]] = {name: [] for name, c in found.items() if c.auth}
    for _ in range(ROUNDS):
        for name, c in found.items():  # interleaved: one batch each per round
            n = sizes[name]
            run = c.run
            start = time.process_time()
            for _ in range(n):
                run()
            whole[name].append((time.process_time() - start) / n * 1e6)
            if c.auth is None:
                continue
            auth = c.auth
            built = [c.build() for _ in range(n)]
            start = time.process_time()
            for request in built:
                auth(request)
            alone[name].append((time.process_time() - start) / n * 1e6)
            del built
    return whole, alone


def main() -> None:
    found = candidates()
    whole, alone = measure_rounds(found)
    medians = {name: statistics.median(values) for name, values in whole.items()}
    baseline = {c.family: whole[name] for name, c in found.items() if c.auth is None}
    baseline["none"] = [0.0] * ROUNDS
    # Subtracted: the median over rounds of (candidate - its client's
    # build-only batch of the same round), steadier than a difference of
    # medians when the build costs 10x the auth. Pre-built: the auth step
    # alone, no subtraction (steadier still; the allocator and caches see
    # a batch of live requests, as a client with many in flight does).
    subtracted = {
        name: statistics.median(
            a - b for a, b in zip(whole[name], baseline[c.family], strict=True)
        )
        for name, c in found.items()
        if c.auth is not None
    }
    prebuilt = {name: statistics.median(v) for name, v in alone.items()}
    peers = [name for name in prebuilt if name.startswith("peer")]
    fastest_sub = min(subtracted[name] for name in peers)
    fastest_pre = min(prebuilt[name] for name in peers)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Python {platform.python_version()}, {platform.machine()}, "
          f"{ROUNDS} interleaved rounds, medians of CPU µs per request, "
          f"load average at the end {load}\n")  # fmt: skip
    print("| candidate | build + auth µs | auth µs (subtracted) | fastest peer ÷ "
          "this | auth µs (pre-built) | fastest peer ÷ this |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, c in found.items():
        if c.auth is None:
            print(f"| {name} | {medians[name]:.1f} | | | | |")
        else:
            print(f"| {name} | {medians[name]:.1f} | {subtracted[name]:.1f} | "
                  f"{fastest_sub / subtracted[name]:.1f}× | {prebuilt[name]:.1f} | "
                  f"{fastest_pre / prebuilt[name]:.1f}× |")  # fmt: skip


# -- a 200 MB streamed upload -------------------------------------------------

UPLOAD_MB = 200
_CHILD = r"""
import hashlib, json, os, resource, sys, time
kind, url, path, region, key, secret = sys.argv[1:7]
size = os.path.getsize(path)
def peak():  # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from appsync_iam import FrozenCredentials
creds = FrozenCredentials(key, secret)
import requests, httpx, aiohttp
import botocore.auth, botocore.awsrequest, botocore.credentials
before = peak()
start = time.perf_counter()
if kind == "floor: hashlib.sha256 of the file (no network)":
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    status = 200
elif kind == "baseline: botocore S3SigV4Auth (hashes the file) + requests stream":
    with open(path, "rb") as f:
        request = botocore.awsrequest.AWSRequest("PUT", url, data=f)
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(key, secret),
                                  "s3", region).add_auth(request)
        f.seek(0)
        headers = dict(request.headers)
        headers["Content-Length"] = str(size)
        status = requests.put(url, data=f, headers=headers, timeout=120).status_code
else:
    import appsync_iam
    with open(path, "rb") as f:
        if kind == "ours: RequestsSigV4Auth, data=file":
            auth = appsync_iam.RequestsSigV4Auth("s3", region, credentials=creds)
            status = requests.put(url, data=f, auth=auth, timeout=120).status_code
        elif kind == "ours: HttpxSigV4Auth, content=file":
            auth = appsync_iam.HttpxSigV4Auth("s3", region, credentials=creds)
            status = httpx.put(url, content=f, auth=auth, timeout=120).status_code
        else:
            import asyncio
            async def go():
                m = appsync_iam.AiohttpSigV4Middleware("s3", region, credentials=creds)
                async with aiohttp.ClientSession(middlewares=[m]) as s:
                    async with s.put(url, data=f) as r:
                        return r.status
            status = asyncio.run(go())
elapsed = time.perf_counter() - start
print(json.dumps({"status": status, "seconds": elapsed, "added_mb": peak() - before,
                  "mb_s": size / 1e6 / elapsed}))
"""


def upload_table() -> None:
    """Peak RSS added and throughput of a 200 MB file PUT to a loopback
    SigV4Server (service s3, in another process, hashing the body as it
    streams), one fresh process per candidate."""
    import json
    import os
    import subprocess
    import tempfile

    import appsync_iam

    kinds = [
        "floor: hashlib.sha256 of the file (no network)",
        "baseline: botocore S3SigV4Auth (hashes the file) + requests stream",
    ]
    if hasattr(appsync_iam, "RequestsSigV4Auth"):
        kinds += [
            "ours: RequestsSigV4Auth, data=file",
            "ours: HttpxSigV4Auth, content=file",
            "ours: AiohttpSigV4Middleware, data=file",
        ]
    server_code = (
        "import sys, time\n"
        "from appsync_iam.emulator import SigV4Server\n"
        "with SigV4Server(service='s3').run_in_thread() as s:\n"
        "    c = s.credentials\n"
        "    print(s.url, s.region, c.access_key, c.secret_key, flush=True)\n"
        "    sys.stdin.read()\n"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", server_code],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    try:
        base, region, key, secret = server.stdout.readline().split()
        with tempfile.NamedTemporaryFile(suffix=".bin") as file:
            block = os.urandom(1 << 20)
            for _ in range(UPLOAD_MB):
                file.write(block)
            file.flush()
            print(f"\n{UPLOAD_MB} MB file PUT to a loopback SigV4Server (s3), "
                  "one fresh process per candidate\n")  # fmt: skip
            print("| candidate | status | MB/s | peak RSS added, MB |")
            print("|---|---:|---:|---:|")
            for kind in kinds:
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, kind, base + "/bucket/big.bin",
                     file.name, region, key, secret],
                    capture_output=True, text=True, timeout=600,
                )  # fmt: skip
                if done.returncode != 0:
                    print(f"| {kind} | failed: {done.stderr.strip()[-200:]} | | |")
                    continue
                row = json.loads(done.stdout)
                print(f"| {kind} | {row['status']} | {row['mb_s']:.0f} | "
                      f"{row['added_mb']:.1f} |")  # fmt: skip
    finally:
        server.stdin.close()
        server.wait(30)


# -- SigV4A: one adapter beside botocore's CRT signer ---------------------------


def sigv4a_table() -> None:
    """The same request signed with SigV4A (region set ``*``): HttpxSigV4Auth
    with ``algorithm="SigV4A"`` beside botocore's ``CrtSigV4AsymAuth``
    (awscrt), the auth step timed on pre-built requests; the floor is one
    P-256 ECDSA signing with ``cryptography``."""
    import httpx
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    import appsync_iam
    from appsync_iam._sigv4a import derive_private_key

    def httpx_build() -> httpx.Request:
        return httpx.Request("POST", URL, content=BODY, headers=HEADERS)

    def botocore_build() -> AWSRequest:
        return AWSRequest("POST", URL, data=BODY, headers=HEADERS)

    ours = appsync_iam.HttpxSigV4Auth(SERVICE, algorithm="SigV4A", credentials=CREDS)
    key = derive_private_key(CREDS.access_key, CREDS.secret_key)
    ecdsa, sts = ec.ECDSA(hashes.SHA256()), b"AWS4-ECDSA-P256-SHA256\n" * 4
    found: dict[str, Candidate] = {
        "build only: httpx": Candidate("httpx", httpx_build),
        "build only: botocore AWSRequest": Candidate("botocore", botocore_build),
        "floor: one P-256 ECDSA sign (cryptography)": Candidate(
            "none", _none, lambda _: key.sign(sts, ecdsa),
        ),
        "ours: HttpxSigV4Auth(algorithm='SigV4A')": Candidate(
            "httpx", httpx_build, lambda r: next(ours.sync_auth_flow(r)),
        ),
    }  # fmt: skip
    try:
        import botocore.auth  # noqa: F401  (botocore.crt.auth needs it first)
        from botocore.crt.auth import CrtSigV4AsymAuth
    except ImportError:
        print("\nnote: awscrt is missing: no botocore CRT row", file=sys.stderr)
    else:
        crt = CrtSigV4AsymAuth(
            Credentials(CREDS.access_key, CREDS.secret_key, CREDS.token), SERVICE, "*"
        )
        found["peer: botocore CrtSigV4AsymAuth (awscrt)"] = Candidate(
            "botocore", botocore_build, crt.add_auth
        )
    whole, alone = measure_rounds(found)
    prebuilt = {name: statistics.median(v) for name, v in alone.items()}
    crt_auth = prebuilt.get("peer: botocore CrtSigV4AsymAuth (awscrt)")
    print("\nSigV4A (region set *), same request, medians (CPU µs per request)\n")
    print("| candidate | build + auth µs | auth µs (pre-built) | CRT peer ÷ this |")
    print("|---|---:|---:|---:|")
    for name, c in found.items():
        total = statistics.median(whole[name])
        if c.auth is None:
            print(f"| {name} | {total:.1f} | | |")
            continue
        ratio = f"{crt_auth / prebuilt[name]:.2f}×" if crt_auth else "n/a"
        print(f"| {name} | {total:.1f} | {prebuilt[name]:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
    if "--no-sigv4a" not in sys.argv:
        sigv4a_table()
    if "--no-upload" not in sys.argv:
        upload_table()
