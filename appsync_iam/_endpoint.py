"""Where an AppSync API lives: GraphQL URL, real-time URL, signing host, region."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from ._errors import ConfigurationError

__all__ = ["AppSyncEndpoint"]

EndpointKind = Literal["standard", "custom", "local"]

# https://<apiId>.appsync-api.<region>.amazonaws.com[.cn]/graphql (amplify-js
# appsyncUrl.ts uses \w{26} for the id; we accept any id length).
_STANDARD_HOST = re.compile(
    r"^(?P<id>[a-z0-9]+)\.appsync-(?P<kind>api|realtime-api)\."
    r"(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?$"
)
# us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, ...
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_region(region: str) -> str:
    if not _REGION.match(region):
        raise ConfigurationError(
            f"{region!r} is not an AWS region; pass a region code such as "
            "'us-east-1' or 'eu-west-2'"
        )
    return region


def _split(url: str, what: str, schemes: tuple[str, ...]) -> SplitResult:
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"the {what} is empty; pass e.g. {_EXAMPLE}")
    if "://" not in url:
        raise ConfigurationError(
            f"the {what} {url!r} has no scheme; pass e.g. {_EXAMPLE}"
        )
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (validates the port)
    except ValueError as exc:
        raise ConfigurationError(
            f"the {what} {url!r} is not a valid URL: {exc}"
        ) from None
    if parts.scheme not in schemes:
        raise ConfigurationError(
            f"the {what} {url!r} has scheme {parts.scheme!r}; "
            f"expected one of {', '.join(schemes)}"
        )
    if not parts.hostname:
        raise ConfigurationError(f"the {what} {url!r} has no host")
    if parts.username or parts.password:
        raise ConfigurationError(
            f"the {what} must not carry credentials (user:password@host)"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"the {what} must not have a query string or fragment; "
            "the client adds what AppSync needs"
        )
    return parts


_EXAMPLE = "'https://<api-id>.appsync-api.<region>.amazonaws.com/graphql'"


def _netloc(parts: SplitResult) -> str:
    """Host as signed: lowercase, with the port only when it is not the default."""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        return f"{host}:{port}"
    return host


def _resolve(
    url: str,
    parts: SplitResult,
    path: str,
    region: str | None,
    realtime_url: str | None,
    *,
    what: str,
    standard_suffix: str = "",
) -> tuple[str, str, EndpointKind]:
    """The real-time URL, region and kind of an HTTP URL (``path`` checked).

    A standard host's real-time URL swaps in ``appsync-realtime-api`` and
    ``wss`` (``path`` + ``standard_suffix``); any other host keeps its host
    with ``path`` + ``/realtime``. Shared by the GraphQL and Events endpoints.
    """
    host = (parts.hostname or "").lower()
    standard = _STANDARD_HOST.match(host)
    kind: EndpointKind
    if standard:
        if standard["kind"] == "realtime-api":
            raise ConfigurationError(
                f"{url!r} is the real-time host; pass the {what} "
                "(appsync-api), the real-time URL is derived from it"
            )
        if parts.scheme != "https":
            raise ConfigurationError("AppSync endpoints are served over https")
        kind = "standard"
        host_region = standard["region"]
        if region is not None and region != host_region:
            raise ConfigurationError(
                f"region {region!r} contradicts the URL's region "
                f"{host_region!r}; omit region for a standard AppSync URL"
            )
        region = host_region
        rt_host = host.replace(".appsync-api.", ".appsync-realtime-api.", 1)
        derived_rt = f"wss://{rt_host}{path}{standard_suffix}"
    else:
        loopback = _is_loopback(host)
        kind = "local" if parts.scheme == "http" or loopback else "custom"
        if parts.scheme == "http" and not loopback:
            raise ConfigurationError(
                f"refusing plain http to {host!r}: signed requests go over "
                "https except to a loopback emulator"
            )
        if region is None:
            if kind == "custom":
                raise ConfigurationError(
                    f"{host!r} is a custom domain, so the region cannot be "
                    "read from it; pass region='<the API's region>', "
                    "e.g. region='us-east-1'"
                )
            region = "us-east-1"
        ws = "wss" if parts.scheme == "https" else "ws"
        derived_rt = f"{ws}://{_netloc(parts)}{path}/realtime"
    _check_region(region)
    if realtime_url is None:
        return derived_rt, region, kind
    rt = _split(realtime_url, "real-time URL", ("wss", "ws"))
    if rt.scheme == "ws" and not _is_loopback(rt.hostname or ""):
        raise ConfigurationError(
            "refusing plain ws:// to a non-loopback host; use wss://"
        )
    return realtime_url.strip(), region, kind


@dataclass(frozen=True, slots=True)
class AppSyncEndpoint:
    """An AppSync API's URLs, the host that signatures cover, and its region.

    Build it with :meth:`from_url`::

        ep = AppSyncEndpoint.from_url(
            "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql")
        ep.realtime_url  # 'wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/graphql'
    """

    graphql_url: str
    realtime_url: str
    host: str
    region: str
    kind: EndpointKind

    @property
    def connect_url(self) -> str:
        """The virtual URL a real-time handshake signs (body ``{}``)."""
        return self.graphql_url + "/connect"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        region: str | None = None,
        realtime_url: str | None = None,
    ) -> AppSyncEndpoint:
        """Parse a GraphQL URL.

        - standard ``https://<id>.appsync-api.<region>.amazonaws.com/graphql``
          (also ``.amazonaws.com.cn``): the region comes from the host and the
          real-time URL swaps in ``appsync-realtime-api`` and ``wss``;
        - a custom domain ``https://api.example.com/graphql``: ``region`` is
          required, the real-time URL is ``wss://api.example.com/graphql/realtime``;
        - a local server ``http://127.0.0.1:PORT/graphql`` (the emulator): the
          real-time URL is ``ws://127.0.0.1:PORT/graphql/realtime``; region
          defaults to ``us-east-1`` only for loopback hosts.

        Raises :class:`ConfigurationError` with what to pass instead.
        """
        parts = _split(url, "GraphQL URL", ("https", "http"))
        path = parts.path.rstrip("/")
        if not path:
            raise ConfigurationError(
                f"the GraphQL URL {url!r} has no path; AppSync serves GraphQL at "
                f"'{parts.scheme}://{_netloc(parts)}/graphql'"
            )
        realtime_url, region, kind = _resolve(
            url, parts, path, region, realtime_url, what="GraphQL URL"
        )
        graphql_url = f"{parts.scheme}://{_netloc(parts)}{path}"
        return cls(
            graphql_url=graphql_url,
            realtime_url=realtime_url,
            host=_netloc(parts),
            region=region,
            kind=kind,
        )
