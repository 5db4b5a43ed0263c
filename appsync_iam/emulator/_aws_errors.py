"""How AWS services answer a request that fails SigV4 verification.

:class:`SignatureRejected` says why (``reason``) in AppSync's words; these
functions say it the way the service named in the credential scope does.

What is documented and what is not:

- S3 (``s3``, ``s3-object-lambda``, ``s3-outposts``, ``s3express``): the XML
  ``<Error>`` document and the codes are from S3's error reference
  (``AccessDenied``, ``InvalidAccessKeyId``, ``InvalidToken``,
  ``ExpiredToken``, ``SignatureDoesNotMatch``, ``RequestTimeTooSkewed``,
  ``XAmzContentSHA256Mismatch``, ``AuthorizationHeaderMalformed``,
  ``AuthorizationQueryParametersError``, ``InvalidRequest``). The extra
  elements (``CanonicalRequest``, ``StringToSign``, ``RequestTime`` ...) are
  the ones S3 is seen to send; ``SignatureProvided`` is left out (no signature
  in any answer of this emulator). Which code S3 picks for each malformed
  ``Authorization`` is not documented; the emulator uses
  ``AuthorizationHeaderMalformed`` (400).
- API Gateway (``execute-api``) and others: 403 ``{"message": ...}`` with
  ``x-amzn-ErrorType`` (``MissingAuthenticationTokenException`` with
  "Missing Authentication Token" when unsigned, ``InvalidSignatureException``,
  ``UnrecognizedClientException``, ``IncompleteSignatureException``,
  ``ExpiredTokenException``), as API Gateway's documentation and
  troubleshooting pages show them. OpenSearch (``es``) answers an unsigned
  request with "User: anonymous is not authorized to perform: es:ESHttp...";
  OpenSearch Serverless (``aoss``) is answered like API Gateway (its exact
  shape is not documented: an assumption).
- Lambda function URLs (``lambda``): every authentication failure is 403
  ``{"Message": "Forbidden. For troubleshooting Function URL authorization
  issues, see: ..."}`` with ``x-amzn-ErrorType: AccessDeniedException``, as
  users report it (not in Lambda's reference); no reason is given.
- AppSync (``appsync``): AppSync's own ``{"errors": [...]}`` shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from xml.sax.saxutils import escape

from ._verifier import S3_SERVICES, SignatureRejected

__all__ = ["ErrorAnswer", "error_answer"]

LAMBDA_URL_FORBIDDEN = (
    "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
)

#: reason -> (status, S3 code, S3 message); None: keep the verifier's message.
_S3: dict[str, tuple[int, str, str | None]] = {
    "missing": (403, "AccessDenied", "Access Denied"),
    "malformed": (400, "AuthorizationHeaderMalformed", None),
    "unknown_key": (
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "bad_token": (
        400,
        "InvalidToken",
        "The provided token is malformed or otherwise invalid.",
    ),
    "expired_token": (400, "ExpiredToken", "The provided token has expired."),
    "mismatch": (
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you "
        "provided. Check your key and signing method.",
    ),
    "scope": (400, "AuthorizationHeaderMalformed", None),
    "skew": (
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    ),
    "content_sha256": (400, "XAmzContentSHA256Mismatch", None),
    "missing_content_sha256": (400, "InvalidRequest", None),
    "presign_expired": (403, "AccessDenied", "Request has expired"),
    "presign_not_yet": (403, "AccessDenied", "Request is not valid yet"),
    "presign_malformed": (400, "AuthorizationQueryParametersError", None),
    "unsupported": (501, "NotImplemented", None),
}
#: The details S3 echoes for each reason, in its element order.
_S3_DETAILS: dict[str, tuple[str, ...]] = {
    "unknown_key": ("AWSAccessKeyId",),
    "mismatch": ("AWSAccessKeyId", "StringToSign", "CanonicalRequest"),
    "scope": ("Region",),
    "skew": ("RequestTime", "ServerTime", "MaxAllowedSkewMilliseconds"),
    "content_sha256": ("ClientComputedContentSHA256", "S3ComputedContentSHA256"),
    "presign_expired": ("X-Amz-Expires", "Expires", "ServerTime"),
}


class ErrorAnswer:
    """One error response: status, headers (without request id) and body."""

    __slots__ = ("body", "code", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        code: str,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})


def error_answer(
    service: str | None, exc: SignatureRejected, request_id: str
) -> ErrorAnswer:
    """The answer of ``service`` (None: unknown, API Gateway's shape) to ``exc``."""
    if service in S3_SERVICES:
        return _s3_answer(exc, request_id)
    if service == "lambda":
        return _json_answer(
            403, "AccessDeniedException", {"Message": LAMBDA_URL_FORBIDDEN}
        )
    if service == "appsync":
        body = {"errors": [{"errorType": exc.error_type, "message": exc.message}]}
        return _json_answer(exc.status, exc.error_type, body)
    if exc.reason == "missing":
        if service == "es":
            message = (
                "User: anonymous is not authorized to perform: es:ESHttpGet "
                "because no identity-based policy allows the es:ESHttpGet action"
            )
            return _json_answer(403, "AccessDeniedException", {"message": message})
        return _json_answer(
            403,
            "MissingAuthenticationTokenException",
            {"message": "Missing Authentication Token"},
        )
    return _json_answer(exc.status, exc.error_type, {"message": exc.message})


def _json_answer(status: int, code: str, body: object) -> ErrorAnswer:
    return ErrorAnswer(
        status,
        code,
        json.dumps(body, ensure_ascii=False).encode(),
        "application/json",
        {"x-amzn-ErrorType": code},
    )


def _s3_answer(exc: SignatureRejected, request_id: str) -> ErrorAnswer:
    status, code, message = _S3.get(exc.reason, (exc.status, exc.error_type, None))
    text = message if message is not None else exc.message
    if exc.reason == "scope" and "Region" in exc.details:
        text = (
            "The authorization header is malformed; the region is wrong; "
            f"expecting '{exc.details['Region']}'"
        )
    elif code == "AuthorizationHeaderMalformed" and message is None:
        text = f"The authorization header is malformed; {exc.message}"
    parts = [f"<Code>{code}</Code>", f"<Message>{escape(text)}</Message>"]
    details = dict(exc.details)
    if exc.echo is not None:
        details["StringToSign"] = exc.echo.string_to_sign
        details["CanonicalRequest"] = exc.echo.canonical_request
    for name in _S3_DETAILS.get(exc.reason, ()):
        if name in details:
            parts.append(f"<{name}>{escape(details[name])}</{name}>")
    parts.append(f"<RequestId>{request_id}</RequestId>")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    )
    return ErrorAnswer(status, code, body.encode(), "application/xml")
