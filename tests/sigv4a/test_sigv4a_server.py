"""SigV4Server verifies SigV4A too (header and presigned forms), over loopback."""

from __future__ import annotations

import aiohttp

from appsync_iam import SigV4ASigner
from appsync_iam.emulator import SigV4Server

BODY = b'{"item": "caf\xc3\xa9"}'


async def test_sigv4a_accepted_and_tampering_rejected() -> None:
    """Signed and presigned requests are echoed; a changed body or region is not."""
    async with SigV4Server(service="execute-api", region="eu-west-1") as server:
        creds = server.add_principal("AKIDSIGV4A", "sigv4a-secret", token="TOKEN/+=")
        signer = SigV4ASigner("execute-api", region_set=["us-east-1", "eu-west-1"])
        url = f"{server.url}/orders?status=open&q=%E2%82%AC"
        headers = signer.sign(
            "POST", url, {"content-type": "application/json"}, BODY, creds
        )
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=BODY, headers=headers) as response:
                assert response.status == 200, await response.text()
                echo = await response.json()
            assert echo["principal"] == "AKIDSIGV4A"
            assert echo["auth"] == "header"
            assert echo["region"] == "us-east-1,eu-west-1"
            assert "x-amz-region-set" in echo["signedHeaders"]
            presigned = signer.presign("GET", f"{server.url}/report", creds)
            async with session.get(presigned) as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["auth"] == "query"
            tampered = BODY.replace(b"caf", b"tea")
            async with session.post(url, data=tampered, headers=headers) as response:
                assert response.status in (400, 403)
            other = SigV4ASigner("execute-api", region_set="us-*")
            headers = other.sign("GET", url, {}, b"", creds)
            async with session.get(url, headers=headers) as response:
                assert response.status == 403
        outcomes = [r.accepted for r in server.requests]
        assert outcomes == [True, True, False, False]
