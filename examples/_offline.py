"""Shared by the SigV4 examples: the target URL from the environment, or a local
verifying server (appsync_iam.emulator.SigV4Server) when none is given.

With ``SIGV4_URL`` set (a real API Gateway stage, Lambda URL, OpenSearch or S3
endpoint), the examples sign with the default credential chain and
``AWS_REGION``. Without it they start a SigV4Server on 127.0.0.1 and sign
with its public test keys, so they run offline.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def target(service: str, **server_options: Any) -> Iterator[tuple[str, str, Any]]:
    """(base URL, region, credentials or None for the default chain)."""
    url = os.environ.get("SIGV4_URL")
    if url:
        yield url.rstrip("/"), os.environ.get("AWS_REGION", "us-east-1"), None
        return
    from appsync_iam.emulator import SigV4Server

    with SigV4Server(service=service, **server_options).run_in_thread() as server:
        yield server.url, server.region, server.credentials
