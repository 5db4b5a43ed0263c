"""SigV4A known answers: the aws-c-auth v4a suite, step by step, both forms."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from multidict import CIMultiDict

from appsync_iam import SigV4ASigner
from appsync_iam._signer import canonical_query, canonical_request
from appsync_iam._sigv4a import derive_private_key, string_to_sign
from appsync_iam.emulator import Principal, sigv4a_public_key, verify_sigv4a

from .sigv4a_helpers import V4aCase, case_names

ECDSA = ec.ECDSA(hashes.SHA256())


def verifies(key: ec.EllipticCurvePublicKey, signature_hex: str, message: str) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), message.encode(), ECDSA)
    except InvalidSignature:
        return False
    return True


def header_pairs(case: V4aCase) -> list[tuple[str, str]]:
    pairs = [*case.headers, ("X-Amz-Date", case.amz_date)]
    pairs.append(("X-Amz-Region-Set", case.region))
    if case.context["sign_body"]:
        pairs.append(("x-amz-content-sha256", hashlib.sha256(case.body).hexdigest()))
    if case.credentials.token:
        pairs.append(("X-Amz-Security-Token", case.credentials.token))
    return pairs


def signature_in(signed_request: str) -> str:
    for line in signed_request.split("\n"):
        if line.startswith("Authorization:"):
            return line.rsplit("Signature=", 1)[1].strip()
        if "X-Amz-Signature=" in line:
            return line.split("X-Amz-Signature=", 1)[1].split(" ", 1)[0]
    raise AssertionError("no signature in the signed request")


CASES = case_names()


@pytest.mark.parametrize("name", CASES)
def test_derived_key_pair_is_the_suites(name: str) -> None:
    """The KDF gives the suite's public key, in the signer and the emulator."""
    case = V4aCase(name)
    creds = case.credentials
    numbers = derive_private_key(creds.access_key, creds.secret_key).public_key()
    assert (numbers.public_numbers().x, numbers.public_numbers().y) == case.public_xy
    assert sigv4a_public_key(creds.access_key, creds.secret_key) == case.public_xy


@pytest.mark.parametrize("name", CASES)
def test_header_form(name: str) -> None:
    """Canonical request, string to sign, and signatures of the header form."""
    case = V4aCase(name)
    payload = hashlib.sha256(case.body).hexdigest()
    normalize = case.context["normalize"]
    creq = canonical_request(
        case.method, case.url, header_pairs(case), payload, normalize=normalize
    )
    assert creq == case.texts["header-canonical-request"]
    sts = string_to_sign(creq, case.amz_date, case.service)
    assert sts == case.texts["header-string-to-sign"]
    suite_key = case.public_key()
    # The suite's own two signatures verify under the key we derive.
    ours = derive_private_key(case.credentials.access_key, case.credentials.secret_key)
    for suite_signature in (
        case.texts["header-signature"],
        signature_in(case.texts["header-signed-request"]),
    ):
        assert verifies(ours.public_key(), suite_signature.strip(), sts)
    # The signer's Authorization: same scope and signed headers as the suite,
    # and a signature that verifies under the suite's public key.
    signer = SigV4ASigner(
        case.service, region_set=case.region, normalize_path=normalize
    )
    headers = signer.sign(
        case.method,
        case.url,
        CIMultiDict(case.headers),  # a Mapping that can repeat a name
        case.body,
        case.credentials,
        now=case.epoch,
        include_content_sha256=case.context["sign_body"],
    )
    expected = signature_in(case.texts["header-signed-request"])
    suite_auth = next(
        line.split(":", 1)[1]
        for line in case.texts["header-signed-request"].split("\n")
        if line.startswith("Authorization:")
    )
    authorization = headers["Authorization"]
    assert authorization.split("Signature=")[0] == suite_auth.split("Signature=")[0]
    assert authorization.rsplit("Signature=", 1)[1] != expected  # randomized
    assert verifies(suite_key, authorization.rsplit("Signature=", 1)[1], sts)


@pytest.mark.parametrize("name", CASES)
def test_query_form(name: str) -> None:
    """The presigned URL: the suite's canonical query and string to sign."""
    case = V4aCase(name)
    signer = SigV4ASigner(
        case.service,
        region_set=case.region,
        normalize_path=case.context["normalize"],
    )
    others = CIMultiDict((n, v) for n, v in case.headers if n.lower() != "host")
    url = signer.presign(
        case.method,
        case.url,
        case.credentials,
        expires=case.context["expiration_in_seconds"],
        headers=others,
        now=case.epoch,
        payload_hash=hashlib.sha256(case.body).hexdigest(),
    )
    query = urlsplit(url).query
    params = dict(parse_qsl(query))
    unsigned = "&".join(
        p for p in query.split("&") if not p.startswith("X-Amz-Signature=")
    )
    expected_creq = case.texts["query-canonical-request"]
    assert canonical_query(unsigned) == expected_creq.split("\n")[2]
    sts = case.texts["query-string-to-sign"]
    assert verifies(case.public_key(), params["X-Amz-Signature"], sts)
    ours = derive_private_key(case.credentials.access_key, case.credentials.secret_key)
    for suite_signature in (
        case.texts["query-signature"],
        signature_in(case.texts["query-signed-request"]),
    ):
        assert verifies(ours.public_key(), suite_signature.strip(), sts)


@pytest.mark.parametrize("form", ["header", "query"])
@pytest.mark.parametrize("name", CASES)
def test_emulator_accepts_the_suites_signed_requests(name: str, form: str) -> None:
    """verify_sigv4a accepts each signed request of the suite as it stands."""
    case = V4aCase(name)
    if not case.context["normalize"]:
        # The emulator applies the unnormalized path rule to S3 services
        # only (as AWS does), and these cases name the service "service".
        pytest.skip("unnormalized path: the emulator's rule for S3 services only")
    path, query, headers = case.signed_request(form)
    creds = case.credentials
    principal = Principal(creds.access_key, creds.secret_key, creds.token)
    accepted = verify_sigv4a(
        method=case.method,
        path=path,
        query=query,
        headers=CIMultiDict((n, v) for n, vs in headers.items() for v in vs),
        body=case.body,
        principals={creds.access_key: principal},
        service=case.service,
        region=case.region,
        now=datetime.fromtimestamp(case.epoch, timezone.utc),
    )
    assert accepted is principal
