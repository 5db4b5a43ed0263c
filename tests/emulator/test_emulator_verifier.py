"""SigV4Verifier alone (no server): known answers, header forms, redaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from appsync_iam.emulator import Principal, SignatureRejected, SigV4Verifier

# The protocol doc's §2.3 known-answer vectors (botocore 1.43.11, cross-checked).
KAT_TIME = datetime(2020, 4, 1, 0, 10, 10, tzinfo=timezone.utc)
KAT_HOST = "example1234567890000.appsync-api.us-east-1.amazonaws.com"
KAT_TOKEN = "EXAMPLESESSIONTOKEN"
KAT_START_BODY = (
    b'{"query":"subscription { onCreateMessage { message } }","variables":{}}'
)
PRINCIPAL = Principal("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TEMPORARY = Principal(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token=KAT_TOKEN
)


def header_object(signature: str, *, token: bool) -> dict[str, str]:
    """The real-time header object as clients send it (mixed-case keys)."""
    signed = "accept;content-encoding;content-type;host;x-amz-date"
    headers = {
        "accept": "application/json, text/javascript",
        "content-encoding": "amz-1.0",
        "content-type": "application/json; charset=UTF-8",
        "host": KAT_HOST,
        "x-amz-date": "20200401T001010Z",
    }
    if token:
        headers["X-Amz-Security-Token"] = KAT_TOKEN
        signed += ";x-amz-security-token"
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200401/us-east-1/appsync/"
        f"aws4_request, SignedHeaders={signed}, Signature={signature}"
    )
    return headers


def verifier(principal: Principal, at: datetime = KAT_TIME) -> SigV4Verifier:
    return SigV4Verifier({principal.access_key: principal}, "us-east-1", now=lambda: at)


class TestKnownAnswers:
    @pytest.mark.parametrize(
        ("path", "body", "token", "signature"),
        [
            (
                "/graphql/connect",
                b"{}",
                True,
                "396f2f2572bdfe008e90d6c26035e2ea7f95f250bee4a65d0103ddd154d7a21d",
            ),
            (
                "/graphql",
                KAT_START_BODY,
                True,
                "6960d3194985b7966fc1368b97fb53c92aa027ebb853c80d9d51c676191843ba",
            ),
            (
                "/graphql/connect",
                b"{}",
                False,
                "2f5e7fe25b88c59d1268241cb5f9f153b5b0f89b972aae457542a00969ea352e",
            ),
            (
                "/graphql",
                KAT_START_BODY,
                False,
                "245a0cb2fe338634680eaac2d539da36966b5b4a7ee0ae66b015be297adb7a2f",
            ),
        ],
        ids=["connect-token", "start-token", "connect", "start"],
    )
    def test_realtime_vectors_are_accepted(
        self, path: str, body: bytes, token: bool, signature: str
    ) -> None:
        """The protocol doc's real-time header objects verify (a plain dict works)."""
        principal = TEMPORARY if token else PRINCIPAL
        headers = header_object(signature, token=token)
        verified = verifier(principal).verify(
            method="POST", path=path, query="", headers=headers, body=body
        )
        assert verified is principal

    def test_canonical_echo_matches_the_doc(self) -> None:
        """A wrong signature echoes the doc's canonical request, token redacted."""
        headers = header_object("0" * 64, token=True)
        with pytest.raises(SignatureRejected) as caught:
            verifier(TEMPORARY).verify(
                method="POST",
                path="/graphql/connect",
                query="",
                headers=headers,
                body=b"{}",
            )
        canonical = (
            "POST\n/graphql/connect\n\n"
            "accept:application/json, text/javascript\n"
            "content-encoding:amz-1.0\n"
            "content-type:application/json; charset=UTF-8\n"
            f"host:{KAT_HOST}\n"
            "x-amz-date:20200401T001010Z\n"
            "x-amz-security-token:<redacted>\n\n"
            "accept;content-encoding;content-type;host;x-amz-date;x-amz-security-token\n"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        )
        error = caught.value
        assert (error.status, error.error_type) == (403, "InvalidSignatureException")
        assert f"should have been\n'{canonical}'\n" in error.message
        assert "2ca151a488d512d0ee337220e944fd1153e8fe0598903baa22a46a2680281805" in (
            error.message
        )
        assert KAT_TOKEN not in str(error) and KAT_TOKEN not in repr(error)


class TestHeaders:
    def test_header_names_are_case_insensitive(self) -> None:
        """Upper-case header names verify like lower-case ones."""
        headers = {
            k.upper(): v
            for k, v in header_object(
                "2f5e7fe25b88c59d1268241cb5f9f153b5b0f89b972aae457542a00969ea352e",
                token=False,
            ).items()
        }
        verifier(PRINCIPAL).verify(
            method="POST",
            path="/graphql/connect",
            query="",
            headers=headers,
            body=b"{}",
        )

    def test_clock_is_checked_against_now(self) -> None:
        """The same vector is rejected once the verifier's clock is 6 minutes on."""
        headers = header_object(
            "2f5e7fe25b88c59d1268241cb5f9f153b5b0f89b972aae457542a00969ea352e",
            token=False,
        )
        late = verifier(PRINCIPAL, KAT_TIME + timedelta(minutes=6))
        with pytest.raises(SignatureRejected) as caught:
            late.verify(
                method="POST",
                path="/graphql/connect",
                query="",
                headers=headers,
                body=b"{}",
            )
        assert caught.value.message == (
            "Signature expired: 20200401T001010Z is now earlier than "
            "20200401T001110Z (20200401T001610Z - 5 min.)"
        )

    def test_principals_mapping_is_read_live(self) -> None:
        """A principal added to the mapping after construction is known."""
        principals: dict[str, Principal] = {}
        live = SigV4Verifier(principals, "us-east-1", now=lambda: KAT_TIME)
        headers = header_object(
            "2f5e7fe25b88c59d1268241cb5f9f153b5b0f89b972aae457542a00969ea352e",
            token=False,
        )
        options = {"method": "POST", "path": "/graphql/connect", "query": ""}
        with pytest.raises(SignatureRejected) as caught:
            live.verify(headers=headers, body=b"{}", **options)
        assert caught.value.error_type == "UnrecognizedClientException"
        principals[PRINCIPAL.access_key] = PRINCIPAL
        assert live.verify(headers=headers, body=b"{}", **options) is PRINCIPAL


class TestReprs:
    def test_rejection_text(self) -> None:
        """SignatureRejected prints status, errorType and message."""
        error = SignatureRejected(401, "UnauthorizedException", "nope")
        assert str(error) == "401 UnauthorizedException: nope"
        assert error.args == (401, "UnauthorizedException", "nope")

    def test_principal_repr_hides_secrets(self) -> None:
        """A Principal's repr shows the key id only."""
        assert "wJalrXUtnFEMI" not in repr(TEMPORARY)
        assert KAT_TOKEN not in repr(TEMPORARY)
