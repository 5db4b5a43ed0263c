"""A Lambda handler calling an IAM-protected API with the function role's
credentials: Lambda puts them in the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``); the
adapters read them from there without importing botocore. The client is
created once per container and reused across invocations.

Run: ``python examples/lambda_role_handler.py`` simulates two invocations
against a local verifying server with a temporary (session token) principal.
"""

from __future__ import annotations

import os

import httpx

from appsync_iam import HttpxSigV4Auth

API_URL = os.environ.get("API_URL", "")
_client: httpx.Client | None = None


def client() -> httpx.Client:
    """Created at the first invocation of a container, reused by warm ones;
    region and credentials come from the environment Lambda sets."""
    global _client
    if _client is None:
        _client = httpx.Client(auth=HttpxSigV4Auth("execute-api"), timeout=10)
    return _client


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    answer = client().get(f"{API_URL}/orders", params={"id": str(event.get("id", ""))})
    return {"statusCode": answer.status_code, "body": answer.text}


if __name__ == "__main__":
    from datetime import datetime, timedelta, timezone

    from appsync_iam.emulator import SigV4Server

    with SigV4Server(service="execute-api").run_in_thread() as server:
        # What Lambda's runtime does for the role's temporary credentials.
        role = server.add_principal(
            "ASIAEXAMPLEROLE", "role-secret", token="role-session-token",
            expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
        )  # fmt: skip
        os.environ.update(
            AWS_ACCESS_KEY_ID=role.access_key, AWS_SECRET_ACCESS_KEY=role.secret_key,
            AWS_SESSION_TOKEN="role-session-token", AWS_REGION=server.region,
        )  # fmt: skip
        API_URL = server.url + "/prod"
        for invocation in range(2):
            result = handler({"id": f"o-{invocation}"}, None)
            print(f"invocation {invocation}:", result["statusCode"])
        print(
            "signed by:",
            {r.verified.principal.access_key for r in server.requests if r.verified},
        )
