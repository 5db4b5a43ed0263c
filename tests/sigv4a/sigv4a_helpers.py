"""The aws-c-auth SigV4A cases (tests/data/aws-signing-test-suite-v4a), parsed."""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from appsync_iam import FrozenCredentials

SUITE = Path(__file__).resolve().parents[1] / "data" / "aws-signing-test-suite-v4a"

#: Paths as sent on the wire, where S3's rule (no dot-segment removal, no
#: second encoding) and the generic rule give different canonical paths.
S3_PATHS = [
    "/bucket/a%20b.txt",
    "/bucket//double//slash",
    "/bucket/a/../b",
    "/bucket/./c/.",
    "/bucket/%E6%97%A5%E6%9C%AC/%C3%A9t%C3%A9.txt",
    "/bucket/a+b=c&d;e,f",
    "/bucket/already%2Fencoded",
    "/bucket/trailing/",
]

# Cases that do not apply, with the reason.
EXCLUDED = {
    # The token is added after signing and left unsigned (omit_session_token);
    # this library always signs X-Amz-Security-Token, as SigV4 does.
    "post-sts-header-after": "token deliberately unsigned",
}


def case_names() -> list[Any]:
    # The unnormalized cases (S3's path rule) run too: the signer takes
    # normalize_path=False, as it does by default for S3 services.
    params: list[Any] = []
    for case in sorted(p.name for p in SUITE.iterdir() if p.is_dir()):
        if case in EXCLUDED:
            reason = EXCLUDED[case]
        elif not (SUITE / case / "public-key.json").exists():
            # Upstream ships only context.json and request.txt for these.
            reason = "the suite has no expected results for this case"
        else:
            params.append(case)
            continue
        params.append(pytest.param(case, marks=pytest.mark.skip(reason=reason)))
    return params


class V4aCase:
    """One case folder: request, context, expected texts, public key."""

    def __init__(self, name: str) -> None:
        folder = SUITE / name
        self.name = name
        self.context = json.loads((folder / "context.json").read_text())
        head, _, body = (folder / "request.txt").read_text().partition("\n\n")
        request_line, *header_lines = head.split("\n")
        self.method, rest = request_line.split(" ", 1)
        self.path = rest.rsplit(" ", 1)[0]  # the path may hold a space
        self.headers: list[tuple[str, str]] = []
        for line in filter(None, header_lines):
            if line[:1] in (" ", "\t"):  # obs-fold continuation line
                name, value = self.headers.pop()
                self.headers.append((name, f"{value}\n{line}"))
            else:
                name, _, value = line.partition(":")
                self.headers.append((name, value))
        self.body = body.encode()
        self.host = next(v for n, v in self.headers if n.lower() == "host")
        self.url = f"https://{self.host}{self.path}"
        creds = self.context["credentials"]
        self.credentials = FrozenCredentials(
            creds["access_key_id"], creds["secret_access_key"], creds.get("token")
        )
        self.region = self.context["region"]
        self.service = self.context["service"]
        stamp = time.strptime(self.context["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        self.epoch = calendar.timegm(stamp)
        self.amz_date = time.strftime("%Y%m%dT%H%M%SZ", stamp)
        self.texts = {
            f"{form}-{kind}": (folder / f"{form}-{kind}.txt").read_text()
            for form in ("header", "query")
            for kind in (
                "canonical-request",
                "string-to-sign",
                "signature",
                "signed-request",
            )
        }
        key = json.loads((folder / "public-key.json").read_text())
        self.public_xy = (int(key["X"], 16), int(key["Y"], 16))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        x, y = self.public_xy
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()

    def signed_request(self, form: str) -> tuple[str, str, dict[str, list[str]]]:
        """(path, raw query, headers) of the suite's ``<form>-signed-request.txt``."""
        text = self.texts[f"{form}-signed-request"]
        head = text.split("\n\n", 1)[0]
        request_line, *lines = head.split("\n")
        target = request_line.split(" ", 1)[1].rsplit(" ", 1)[0]
        path, _, query = target.partition("?")
        # The file shows the query decoded; on the wire a client sends its
        # non-ASCII characters percent-encoded (UTF-8). The suite's paths are
        # the unencoded form the canonical URI encodes (get-utf8), kept so.
        query = "".join(c if c.isascii() else quote(c) for c in query)
        headers: dict[str, list[str]] = {}
        last = ""
        for line in filter(None, lines):
            if line[:1] in (" ", "\t"):
                headers[last][-1] += f"\n{line}"
                continue
            name, _, value = line.partition(":")
            last = name.lower()
            headers.setdefault(last, []).append(value)
        return path, query, headers
