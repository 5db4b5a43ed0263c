"""API Gateway (IAM authorization): query parameters in Japanese and symbols,
signed with httpx and requests (the same signer, byte for byte).

Run: ``python examples/api_gateway.py`` (offline, against a local verifying
server), or set ``SIGV4_URL=https://<id>.execute-api.<region>.amazonaws.com/<stage>``
and ``AWS_REGION`` to call your API with your credentials.
"""

from __future__ import annotations

import httpx
import requests
from _offline import target

from appsync_iam import HttpxSigV4Auth, RequestsSigV4Auth

PARAMS = {"q": "東京タワー", "filter": "a+b=c&d", "sym": "!*'();:@$,/?#[]", "empty": ""}

with target("execute-api") as (base, region, credentials):
    auth = HttpxSigV4Auth("execute-api", region, credentials=credentials)
    with httpx.Client(auth=auth, timeout=10) as client:
        answer = client.get(f"{base}/items", params=PARAMS)
        answer.raise_for_status()
        print("httpx GET:", answer.status_code, answer.json().get("query"))
        created = client.post(f"{base}/items", json={"name": "ラーメン 🍜"})
        print("httpx POST:", created.status_code)

    session = requests.Session()
    session.auth = RequestsSigV4Auth("execute-api", region, credentials=credentials)
    answer = session.get(f"{base}/items", params=PARAMS, timeout=10)
    answer.raise_for_status()
    print("requests GET:", answer.status_code, answer.json().get("query"))
