"""Amazon OpenSearch Service (``es``) and OpenSearch Serverless (``aoss``):
index a document and search, with aiohttp (a client middleware) and httpx.

``aoss`` requires ``x-amz-content-sha256``; the adapters send it for that
service. Run offline as is, or set ``SIGV4_URL`` to your domain / collection
endpoint and ``OPENSEARCH_SERVICE`` to ``es`` or ``aoss``.
"""

from __future__ import annotations

import asyncio
import os

import aiohttp
import httpx
from _offline import target

from appsync_iam import AiohttpSigV4Middleware, HttpxSigV4Auth

DOC = {"title": "Tōkyō travel guide", "tags": ["東京", "guide"]}
QUERY = {"query": {"match": {"title": "guide"}}}


async def main(service: str) -> None:
    with target(service) as (base, region, credentials):
        sign = AiohttpSigV4Middleware(service, region, credentials=credentials)
        async with aiohttp.ClientSession(middlewares=[sign]) as session:
            async with session.put(f"{base}/movies/_doc/1", json=DOC) as answer:
                print(f"{service} aiohttp PUT doc:", answer.status)
                answer.raise_for_status()
        auth = HttpxSigV4Auth(service, region, credentials=credentials)
        async with httpx.AsyncClient(auth=auth, timeout=10) as client:
            answer = await client.post(f"{base}/movies/_search", json=QUERY)
            answer.raise_for_status()
            print(f"{service} httpx search:", answer.status_code)


for name in (
    [os.environ["OPENSEARCH_SERVICE"]]
    if "OPENSEARCH_SERVICE" in os.environ
    else ["es", "aoss"]
):
    asyncio.run(main(name))
