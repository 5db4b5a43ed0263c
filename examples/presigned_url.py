"""A presigned URL (query-string SigV4): hand it to anything that can GET,
no credentials needed by the holder, valid for ``expires`` seconds.

Run offline as is, or set ``SIGV4_URL`` to a bucket URL (service ``s3``).
"""

from __future__ import annotations

import urllib.request

from _offline import target

from appsync_iam import presign_url

with target("s3") as (base, region, credentials):
    url = presign_url(
        f"{base}/shared/photo.jpg", service="s3", region=region,
        credentials=credentials, expires=300,
    )  # fmt: skip
    # The URL carries a signature: treat it as a secret, do not log it.
    with urllib.request.urlopen(url, timeout=10) as answer:
        print("GET presigned:", answer.status)
