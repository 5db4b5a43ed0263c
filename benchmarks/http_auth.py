"""Microseconds per SigV4-signed HTTP request: our adapters beside the peers.

Run (one process, about 30 s)::

    .venv/bin/pip install -e '.[bench]'     # httpx, requests, the peers
    .venv/bin/python benchmarks/http_auth.py

What is measured, per candidate, with no network: build the client library's
request object for ``POST https://abc123.execute-api.eu-west-1.amazonaws.com/
prod/items?q=東京&sort=desc`` (a 200 B JSON body, a content-type header,
temporary credentials with a 1,100-character session token), then run the
auth on it (requests: ``auth(prepared)``; httpx: the first request of
``auth.sync_auth_flow(request)``; botocore: ``SigV4Auth.add_auth``). The
"build only" rows are the same request construction without auth; the
"auth" column is the candidate minus its client's build-only median, and
the ratio compares that with the fastest peer's auth column.

Candidates: requests-aws4auth (``AWS4Auth``), aws-requests-auth
(``AWSRequestsAuth``), httpx-auth-awssigv4 (``SigV4Auth``, called as
``auth(request)``), botocore ``SigV4Auth`` over an ``AWSRequest``;
ours: ``HttpxSigV4Auth``,
``RequestsSigV4Auth`` (when installed, i.e. once the adapters are on main)
and the signing core alone (``SigV4Signer.sign``, no request object).

Timing: each candidate runs in batches of about 20 ms, batches interleaved
across candidates (machine noise hits all alike), 15 rounds; the table shows
medians of the per-batch means. Numbers from a shared, noisy machine vary
by 10-20 % run to run; the ratios are steadier than the absolute figures.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable

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
ROUNDS = 15
BATCH_SECONDS = 0.02


def candidates() -> dict[str, tuple[str, Callable[[], object]]]:
    """name -> (client family for the build-only baseline, one signed request)."""
    found: dict[str, tuple[str, Callable[[], object]]] = {}
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

    found["build only: requests"] = ("requests", requests_build)
    found["build only: httpx"] = ("httpx", httpx_build)
    found["build only: botocore AWSRequest"] = ("botocore", botocore_build)

    botocore_auth = SigV4Auth(
        Credentials(CREDS.access_key, CREDS.secret_key, CREDS.token), SERVICE, REGION
    )

    def botocore_signed() -> object:
        request = botocore_build()
        botocore_auth.add_auth(request)
        return request

    found["peer: botocore SigV4Auth"] = ("botocore", botocore_signed)

    from requests_aws4auth import AWS4Auth

    aws4auth = AWS4Auth(
        CREDS.access_key, CREDS.secret_key, REGION, SERVICE, session_token=CREDS.token
    )
    found["peer: requests-aws4auth"] = ("requests", lambda: aws4auth(requests_build()))

    from aws_requests_auth.aws_auth import AWSRequestsAuth

    aws_requests_auth = AWSRequestsAuth(
        CREDS.access_key, CREDS.secret_key, HOST, REGION, SERVICE, CREDS.token
    )
    found["peer: aws-requests-auth"] = (
        "requests", lambda: aws_requests_auth(requests_build()),
    )  # fmt: skip

    from httpx_auth_awssigv4 import SigV4Auth as HttpxAuthAwsSigV4

    httpx_peer = HttpxAuthAwsSigV4(
        CREDS.access_key, CREDS.secret_key, SERVICE, REGION, CREDS.token
    )
    found["peer: httpx-auth-awssigv4"] = (
        "httpx", lambda: httpx_peer(httpx_build()),
    )  # fmt: skip

    signer = SigV4Signer(REGION, SERVICE)
    found["ours: SigV4Signer.sign (core, no request object)"] = (
        "none", lambda: signer.sign("POST", URL, HEADERS, BODY, CREDS),
    )  # fmt: skip

    import appsync_iam

    if hasattr(appsync_iam, "HttpxSigV4Auth"):
        ours_httpx = appsync_iam.HttpxSigV4Auth(SERVICE, REGION, credentials=CREDS)
        found["ours: HttpxSigV4Auth"] = (
            "httpx", lambda: next(ours_httpx.sync_auth_flow(httpx_build())),
        )  # fmt: skip
        ours_requests = appsync_iam.RequestsSigV4Auth(
            SERVICE, REGION, credentials=CREDS
        )
        found["ours: RequestsSigV4Auth"] = (
            "requests", lambda: ours_requests(requests_build()),
        )  # fmt: skip
    else:
        print(
            "note: HttpxSigV4Auth / RequestsSigV4Auth are not in this checkout; "
            "their rows are missing",
            file=sys.stderr,
        )
    return found


def _batch_size(fn: Callable[[], object]) -> int:
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start >= BATCH_SECONDS:
            return n
        n *= 2


def measure(found: dict[str, tuple[str, Callable[[], object]]]) -> dict[str, float]:
    sizes = {name: _batch_size(fn) for name, (_, fn) in found.items()}
    samples: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(ROUNDS):
        for name, (_, fn) in found.items():  # interleaved: one batch each per round
            n = sizes[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    found = candidates()
    medians = measure(found)
    baseline = {family: medians[name] for name, (family, _) in found.items()
                if name.startswith("build only")}  # fmt: skip
    baseline["botocore"] = medians["build only: botocore AWSRequest"]
    baseline["none"] = 0.0
    auth = {
        name: medians[name] - baseline[family]
        for name, (family, _) in found.items()
        if not name.startswith("build only")
    }
    fastest_peer = min(v for name, v in auth.items() if name.startswith("peer"))
    print(f"Python {platform.python_version()}, {platform.machine()}, "
          f"{ROUNDS} interleaved rounds, medians (µs per request)\n")  # fmt: skip
    print("| candidate | build + auth µs | auth µs | fastest peer ÷ this |")
    print("|---|---:|---:|---:|")
    for name in found:
        if name.startswith("build only"):
            print(f"| {name} | {medians[name]:.1f} | | |")
        else:
            print(f"| {name} | {medians[name]:.1f} | {auth[name]:.1f} | "
                  f"{fastest_peer / auth[name]:.1f}× |")  # fmt: skip


if __name__ == "__main__":
    main()
