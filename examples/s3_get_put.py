"""S3 PUT and GET of an object with requests: a file body is hashed, rewound
and streamed (never held whole in memory); S3's signing rules (single-encoded
path, ``x-amz-content-sha256``) apply because the service is ``s3``.

Run offline as is, or set ``SIGV4_URL=https://<bucket>.s3.<region>.amazonaws.com``.
"""

from __future__ import annotations

import hashlib
import tempfile

import requests
from _offline import target

from appsync_iam import RequestsSigV4Auth

KEY = "reports/2026/売上 レポート.csv"

with target("s3") as (base, region, credentials), tempfile.TemporaryFile() as file:
    file.write(b"month,total\n" + b"2026-01,100\n" * 50_000)
    size = file.tell()
    file.seek(0)
    auth = RequestsSigV4Auth("s3", region, credentials=credentials)
    answer = requests.put(f"{base}/{KEY}", data=file, auth=auth, timeout=30)
    answer.raise_for_status()
    print("PUT:", answer.status_code, f"{size} bytes")
    answer = requests.get(f"{base}/{KEY}", auth=auth, timeout=30)
    answer.raise_for_status()
    print("GET:", answer.status_code, hashlib.sha256(answer.content).hexdigest()[:12])
