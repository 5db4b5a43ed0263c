"""Microseconds per SigV4 signature: hashing floor, ours, botocore, gql.

Run: ``.venv/bin/python benchmarks/sign.py`` (about 20 s). Prints a markdown
table. Every candidate signs the same request: an AppSync subscription
``start`` (POST /graphql, the three constant real-time headers of protocol
doc §2.3, temporary credentials with a 1,100-character session token), with
a 200 B and a 20 KB JSON body.

What the floor counts (the work no SigV4 implementation can skip, with the
signing key already derived and the canonical request already built):

1. sha256 of the body, hex;
2. sha256 of a canonical request of the real size (built once, pre-encoded);
3. one HMAC-SHA256 of a string-to-sign with a cached key, hex:
   ``floor`` uses ``hmac.new(key, msg, sha256)``; ``floor, HMAC pads
   precomputed`` copies the HMAC inner/outer SHA-256 states hashed once per
   key (the trick the signer itself uses), the lowest cost we know.

SigV4A (``AWS4-ECDSA-P256-SHA256``, a second table): the same request signed
for region set ``*`` by ``SigV4ASigner.sign`` and by botocore's CRT signer
(``botocore.crt.auth.CrtSigV4AsymAuth``, needs awscrt: the row says so when
it is missing). ECDSA bounds it; the floors are one P-256 ECDSA-SHA256
signing with ``cryptography`` of a string to sign of the real size (key
already derived), and that plus the two sha256 of the SigV4 floor.

Timing: each candidate runs in batches of about 20 ms, batches interleaved
across candidates (so machine noise hits all alike), 15 rounds; the table shows
the best batch (the usual timeit statistic) and the median.
"""

from __future__ import annotations

import hmac
import platform
import statistics
import time
import timeit
from collections.abc import Callable
from hashlib import sha256

import botocore
import gql
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql.transport.appsync_auth import AppSyncIAMAuthentication

from appsync_iam import FrozenCredentials, SigV4ASigner, SigV4Signer
from appsync_iam._signer import canonical_request, signing_key
from appsync_iam._sigv4a import derive_private_key

HOST = "example1234567890000.appsync-api.us-east-1.amazonaws.com"
URL = f"https://{HOST}/graphql"
REGION = "us-east-1"
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# Synthetic, shaped like an STS session token (Lambda's are ~1,000-1,300 chars).
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE" + "Ab3/+" * 215 + "=="
HEADERS = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}
ROUNDS = 15
BATCH_SECONDS = 0.02


def make_body(size: int) -> str:
    """A subscription start body of exactly ``size`` bytes."""
    head = '{"query":"subscription { onCreateMessage { message } }","variables":{"p":"'
    tail = '"}}'
    return head + "x" * (size - len(head) - len(tail)) + tail


def floor_candidates(body: bytes) -> dict[str, Callable[[], object]]:
    amz_date = "20200401T001010Z"
    pairs = [*HEADERS.items(), ("host", HOST), ("x-amz-date", amz_date)]
    pairs.append(("x-amz-security-token", TOKEN))
    creq = canonical_request("POST", URL, pairs, sha256(body).hexdigest()).encode()
    sts = (
        f"AWS4-HMAC-SHA256\n{amz_date}\n20200401/{REGION}/appsync/aws4_request\n"
        + "0" * 64
    ).encode()
    key = signing_key(SECRET, amz_date[:8], REGION, "appsync")
    block = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in block))
    outer = sha256(bytes(b ^ 0x5C for b in block))

    def floor() -> object:
        sha256(body).hexdigest()
        sha256(creq).hexdigest()
        return hmac.new(key, sts, sha256).hexdigest()

    def floor_pads() -> object:
        sha256(body).hexdigest()
        sha256(creq).hexdigest()
        i = inner.copy()
        i.update(sts)
        o = outer.copy()
        o.update(i.digest())
        return o.hexdigest()

    return {"floor": floor, "floor, HMAC pads precomputed": floor_pads}


def signer_candidates(text: str) -> dict[str, Callable[[], object]]:
    body = text.encode()
    ours = SigV4Signer(REGION)
    frozen = FrozenCredentials(AKID, SECRET, TOKEN)
    boto_creds = Credentials(AKID, SECRET, TOKEN)
    boto = SigV4Auth(boto_creds, "appsync", REGION)
    gql_auth = AppSyncIAMAuthentication(
        host=HOST, region_name=REGION, credentials=boto_creds
    )

    def appsync_iam() -> object:
        return ours.sign(
            "POST", URL, HEADERS, body, frozen, include_content_sha256=False
        )

    def botocore_sigv4() -> object:
        request = AWSRequest(method="POST", url=URL, headers=HEADERS, data=body)
        boto.add_auth(request)
        return request.headers

    def gql_iam() -> object:
        return gql_auth.get_headers(text, dict(HEADERS))

    # Same request, same SignedHeaders: the candidates do the same work.
    signed = [
        appsync_iam()["Authorization"],
        botocore_sigv4()["Authorization"],
        gql_iam()["Authorization"],
    ]
    assert len({a.split("SignedHeaders=")[1].split(",")[0] for a in signed}) == 1
    return {
        "appsync_iam SigV4Signer.sign": appsync_iam,
        "botocore SigV4Auth.add_auth": botocore_sigv4,
        "gql AppSyncIAMAuthentication.get_headers": gql_iam,
    }


def sigv4a_candidates(text: str) -> dict[str, Callable[[], object]]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    body = text.encode()
    frozen = FrozenCredentials(AKID, SECRET, TOKEN)
    ours = SigV4ASigner("appsync", region_set="*")
    amz_date = "20200401T001010Z"
    pairs = [*HEADERS.items(), ("host", HOST), ("x-amz-date", amz_date)]
    pairs += [("x-amz-region-set", "*"), ("x-amz-security-token", TOKEN)]
    creq = canonical_request("POST", URL, pairs, sha256(body).hexdigest()).encode()
    sts = (
        f"AWS4-ECDSA-P256-SHA256\n{amz_date}\n20200401/appsync/aws4_request\n"
        + "0" * 64
    ).encode()
    key = derive_private_key(AKID, SECRET)
    ecdsa = ec.ECDSA(hashes.SHA256())

    def ecdsa_floor() -> object:
        return key.sign(sts, ecdsa).hex()

    def floor() -> object:
        sha256(body).hexdigest()
        sha256(creq).hexdigest()
        return key.sign(sts, ecdsa).hex()

    def appsync_iam() -> object:
        return ours.sign(
            "POST", URL, HEADERS, body, frozen, include_content_sha256=False
        )

    candidates: dict[str, Callable[[], object]] = {
        "floor: one P-256 ECDSA sign (cryptography)": ecdsa_floor,
        "floor: 2 sha256 + ECDSA sign": floor,
        "appsync_iam SigV4ASigner.sign": appsync_iam,
    }
    try:
        import botocore.auth  # noqa: F401  (botocore.crt.auth needs it first)
        from botocore.crt.auth import CrtSigV4AsymAuth
    except ImportError:
        return candidates
    crt = CrtSigV4AsymAuth(Credentials(AKID, SECRET, TOKEN), "appsync", "*")

    def botocore_crt() -> object:
        request = AWSRequest(method="POST", url=URL, headers=HEADERS, data=body)
        crt.add_auth(request)
        return request.headers

    signed = [appsync_iam()["Authorization"], botocore_crt()["Authorization"]]
    assert len({a.split("SignedHeaders=")[1].split(",")[0] for a in signed}) == 1
    candidates["botocore CrtSigV4AsymAuth.add_auth (awscrt)"] = botocore_crt
    return candidates


def sigv4a_table(results: dict[int, dict[str, list[float]]]) -> str:
    rows = [
        "| body | candidate | best µs | median µs | ÷ ECDSA floor | ÷ ours |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for size, samples in results.items():
        best = {name: min(values) for name, values in samples.items()}
        floor = best["floor: one P-256 ECDSA sign (cryptography)"]
        ours = best["appsync_iam SigV4ASigner.sign"]
        for name, values in samples.items():
            label = f"{size // 1000} KB" if size >= 1000 else f"{size} B"
            rows.append(
                f"| {label} | {name} | {best[name]:.2f} "
                f"| {statistics.median(values):.2f} | {best[name] / floor:.2f}× "
                f"| {best[name] / ours:.2f}× |"
            )
        if not any("Crt" in name for name in samples):
            rows.append(
                f"| {label} | botocore CRT signer | n/a: awscrt missing | | | |"
            )
    return "\n".join(rows)


def measure(candidates: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """µs per call for each batch, batches interleaved across candidates."""
    timers = {name: timeit.Timer(fn) for name, fn in candidates.items()}
    numbers = {}
    for name, timer in timers.items():
        number, seconds = timer.autorange()  # also warms every cache up
        numbers[name] = max(1, int(number * BATCH_SECONDS / seconds))
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(ROUNDS):
        for name, timer in timers.items():
            elapsed = timer.timeit(numbers[name])
            samples[name].append(elapsed / numbers[name] * 1e6)
    return samples


def table(results: dict[int, dict[str, list[float]]]) -> str:
    rows = [
        "| body | candidate | best µs | median µs | ÷ floor | ÷ padded floor "
        "| ÷ ours |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for size, samples in results.items():
        best = {name: min(values) for name, values in samples.items()}
        floor, padded = best["floor"], best["floor, HMAC pads precomputed"]
        ours = best["appsync_iam SigV4Signer.sign"]
        for name, values in samples.items():
            label = f"{size // 1000} KB" if size >= 1000 else f"{size} B"
            rows.append(
                f"| {label} | {name} | {best[name]:.2f} "
                f"| {statistics.median(values):.2f} | {best[name] / floor:.2f}× "
                f"| {best[name] / padded:.2f}× | {best[name] / ours:.2f}× |"
            )
    return "\n".join(rows)


def main() -> None:
    started = time.perf_counter()
    results = {}
    for size in (200, 20_000):
        text = make_body(size)
        candidates = {
            **floor_candidates(text.encode()),
            **signer_candidates(text),
        }
        results[size] = measure(candidates)
    print(
        f"Python {platform.python_version()}, botocore {botocore.__version__}, "
        f"gql {gql.__version__}, {platform.machine()}, "
        f"token {len(TOKEN)} chars, best of {ROUNDS} interleaved ~20 ms batches\n"
    )
    print(table(results))
    results_a = {size: measure(sigv4a_candidates(make_body(size))) for size in results}
    print("\nSigV4A, region set *:\n")
    print(sigv4a_table(results_a))
    best = {size: {n: min(v) for n, v in s.items()} for size, s in results.items()}
    small = best[200]
    ours = small["appsync_iam SigV4Signer.sign"]
    print(
        f"\n200 B: ours/floor {ours / small['floor']:.2f}× "
        f"(padded floor {ours / small['floor, HMAC pads precomputed']:.2f}×), "
        f"botocore/ours {small['botocore SigV4Auth.add_auth'] / ours:.1f}×, "
        f"gql/ours {small['gql AppSyncIAMAuthentication.get_headers'] / ours:.1f}×"
        f"  [{time.perf_counter() - started:.0f} s]"
    )


if __name__ == "__main__":
    main()
