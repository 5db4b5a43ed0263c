"""Property: one changed byte anywhere that is signed gets the request rejected.

One emulator runs in a background thread for every example; each example
signs nothing new, it changes one byte of a request botocore signed, in the
body, in a signed header value or in the signature, and sends it with the
stdlib's http.client.
"""

from __future__ import annotations

import string

from emulator_helpers import (
    HELLO,
    TEMP_KEY,
    TEMP_SECRET,
    TEMP_TOKEN,
    TINY_SDL,
    post_sync,
    sign,
    tiny_resolvers,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from appsync_iam.emulator import AppSyncEmulator

# What a rejection may be, by the part that was changed.
REJECTIONS = {
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "XAmzContentSHA256Mismatch",
}
# Header values are changed to another visible ASCII character: whitespace is
# folded by SigV4's own canonicalization (a space turned into a tab is the same
# signed value), and control characters are not valid in HTTP header values.
VISIBLE = [c for c in string.printable if c.isprintable() and not c.isspace()]


def _signed_names(headers: dict[str, str]) -> list[str]:
    signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    return signed.split(";")


class TestTamper:
    def test_one_changed_byte_is_always_rejected(self) -> None:
        """Flipping one byte of the body, a signed header value or the signature is
        rejected with an IAM error, and the operation never runs."""
        emulator = AppSyncEmulator(TINY_SDL, resolvers=tiny_resolvers())
        seen: set[str] = set()
        with emulator.run_in_thread():
            creds = emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
            host = f"127.0.0.1:{emulator.port}"
            bases = [
                {"Host": host, **sign(emulator.url, HELLO, creds)},
                {"Host": host, **sign(emulator.url, HELLO, creds, content_sha256=True)},
            ]
            for base in bases:
                assert post_sync(emulator.url, HELLO, base).status == 200
            accepted = len(emulator.executed)

            @settings(max_examples=150, deadline=None, database=None)
            @given(st.data())
            def tampered_request_is_rejected(data: st.DataObject) -> None:
                headers = dict(data.draw(st.sampled_from(bases), label="base"))
                by_lower = {name.lower(): name for name in headers}
                targets = ["body", "signature", *_signed_names(headers)]
                target = data.draw(st.sampled_from(targets), label="target")
                seen.add(target)
                body = HELLO
                if target == "body":
                    index = data.draw(st.integers(0, len(body) - 1), label="index")
                    new = data.draw(
                        st.integers(0, 255).filter(lambda b: b != body[index]),
                        label="byte",
                    )
                    body = body[:index] + bytes([new]) + body[index + 1 :]
                else:
                    if target == "signature":
                        name = "Authorization"
                        value = headers[name]
                        start = value.index("Signature=") + len("Signature=")
                    else:
                        name = by_lower[target]
                        value = headers[name]
                        start = 0
                    index = data.draw(st.integers(start, len(value) - 1), label="index")
                    new_char = data.draw(
                        st.sampled_from(VISIBLE).filter(lambda c: c != value[index]),
                        label="char",
                    )
                    headers[name] = value[:index] + new_char + value[index + 1 :]
                answer = post_sync(emulator.url, body, headers)
                assert answer.status in (400, 403), answer
                assert answer.error_type in REJECTIONS, answer

            tampered_request_is_rejected()
            assert len(emulator.executed) == accepted
        # Every part was tampered with at least once.
        assert seen == {"body", "signature", *_signed_names(bases[1])}
