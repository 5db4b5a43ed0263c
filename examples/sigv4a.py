"""SigV4A with aiohttp (the signer, then the middleware) against a verifier.

Needs ``pip install 'appsync_iam[sigv4a]'``. The server stands in for a
multi-region endpoint (an S3 Multi-Region Access Point, an EventBridge global
endpoint): it checks each request with the emulator's SigV4A verifier, which
derives the public key from the secret independently of the signer.

Run: ``python examples/sigv4a.py`` (no AWS account needed).
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from appsync_iam import AiohttpSigV4Middleware, FrozenCredentials, SigV4ASigner
from appsync_iam.emulator import Principal, SignatureRejected, verify_sigv4a

CREDENTIALS = FrozenCredentials(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luEXAMPLE"
)
PRINCIPALS = {
    "AKIDEXAMPLE": Principal("AKIDEXAMPLE", CREDENTIALS.secret_key, CREDENTIALS.token)
}


async def verifying_handler(request: web.Request) -> web.Response:
    try:
        verify_sigv4a(
            method=request.method,
            path=request.raw_path.partition("?")[0],
            query=request.raw_path.partition("?")[2],
            headers=request.headers,
            body=await request.read(),
            principals=PRINCIPALS,
            service="execute-api",
            region="eu-west-1",  # the region this endpoint stands for
        )
    except SignatureRejected as rejected:
        return web.json_response({"error": rejected.error_type}, status=rejected.status)
    return web.json_response({"ok": True})


async def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", verifying_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    signer = SigV4ASigner("execute-api", region_set=["us-east-1", "eu-west-1"])
    try:
        async with aiohttp.ClientSession() as session:
            url = f"{base}/orders?status=open"
            body = b'{"item": "caf\xc3\xa9"}'
            headers = signer.sign(
                "POST", url, {"content-type": "application/json"}, body, CREDENTIALS
            )
            async with session.post(url, data=body, headers=headers) as response:
                print("signed POST:", response.status, await response.json())
            presigned = signer.presign("GET", f"{base}/report", CREDENTIALS)
            async with session.get(presigned) as response:
                print("presigned GET:", response.status, await response.json())
            tampered = body.replace(b"caf", b"tea")
            async with session.post(url, data=tampered, headers=headers) as response:
                print("tampered body:", response.status, await response.json())
        # The same with the middleware: every request of the session signed
        # (HttpxSigV4Auth and RequestsSigV4Auth take the same arguments).
        middleware = AiohttpSigV4Middleware(
            "execute-api",
            algorithm="SigV4A",
            region_set=["us-east-1", "eu-west-1"],
            credentials=CREDENTIALS,  # omit it for the default chain
        )
        async with aiohttp.ClientSession(middlewares=[middleware]) as session:
            async with session.post(url, json={"item": "café"}) as response:
                print("middleware POST:", response.status, await response.json())
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
