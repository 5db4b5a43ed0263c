"""Pure tests of AppSyncEndpoint.from_url: URL forms, derived URLs, bad input."""

from __future__ import annotations

import pytest

from appsync_iam import AppSyncEndpoint, ConfigurationError

STD = "https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/graphql"


class TestStandardEndpoints:
    def test_region_and_realtime_url_come_from_the_host(self) -> None:
        """A standard URL yields its region and the appsync-realtime-api wss URL."""
        ep = AppSyncEndpoint.from_url(STD)
        assert ep.region == "eu-west-1"
        assert ep.kind == "standard"
        assert (
            ep.host == "abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com"
        )
        assert ep.realtime_url == (
            "wss://abcdefghijklmnopqrstuvwxyz.appsync-realtime-api"
            ".eu-west-1.amazonaws.com/graphql"
        )
        assert ep.connect_url == STD + "/connect"

    def test_china_regions_are_standard(self) -> None:
        """amazonaws.com.cn hosts are recognised as standard endpoints."""
        ep = AppSyncEndpoint.from_url(
            "https://abc.appsync-api.cn-northwest-1.amazonaws.com.cn/graphql"
        )
        assert ep.region == "cn-northwest-1"
        assert ep.realtime_url.startswith("wss://abc.appsync-realtime-api.")
        assert ep.realtime_url.endswith(".amazonaws.com.cn/graphql")

    def test_host_is_case_folded_and_default_port_dropped(self) -> None:
        """The signing host is lowercase and omits the scheme's default port."""
        ep = AppSyncEndpoint.from_url(STD.replace("https://abc", "https://ABC") + "/")
        assert ep.host.startswith("abc")
        ep = AppSyncEndpoint.from_url(STD.replace(".com/", ".com:443/"))
        assert ":" not in ep.host
        assert ep.graphql_url == STD

    def test_matching_explicit_region_is_accepted(self) -> None:
        """Passing the URL's own region is harmless."""
        assert AppSyncEndpoint.from_url(STD, region="eu-west-1").region == "eu-west-1"

    def test_contradicting_region_is_rejected(self) -> None:
        """A region that contradicts the standard host is a configuration error."""
        with pytest.raises(ConfigurationError, match="contradicts"):
            AppSyncEndpoint.from_url(STD, region="us-east-1")

    def test_the_realtime_host_is_not_a_graphql_url(self) -> None:
        """Passing the real-time host explains which URL to pass instead."""
        url = STD.replace("appsync-api", "appsync-realtime-api")
        with pytest.raises(ConfigurationError, match="real-time host"):
            AppSyncEndpoint.from_url(url)


class TestCustomAndLocalEndpoints:
    def test_custom_domain_needs_a_region(self) -> None:
        """A custom domain without region says to pass one."""
        with pytest.raises(ConfigurationError, match="region="):
            AppSyncEndpoint.from_url("https://api.example.com/graphql")

    def test_custom_domain_realtime_url_appends_realtime(self) -> None:
        """Custom domains serve real-time at <graphql path>/realtime over wss."""
        ep = AppSyncEndpoint.from_url(
            "https://api.example.com/graphql", region="ap-southeast-2"
        )
        assert ep.kind == "custom"
        assert ep.region == "ap-southeast-2"
        assert ep.host == "api.example.com"
        assert ep.realtime_url == "wss://api.example.com/graphql/realtime"

    def test_non_default_port_is_kept_in_the_signing_host(self) -> None:
        """A non-default port is part of the signed host and the derived URLs."""
        ep = AppSyncEndpoint.from_url(
            "https://api.example.com:8443/graphql", region="us-west-2"
        )
        assert ep.host == "api.example.com:8443"
        assert ep.realtime_url == "wss://api.example.com:8443/graphql/realtime"

    def test_loopback_http_is_local_with_default_region(self) -> None:
        """A loopback http URL (the emulator) gets ws:// real-time and us-east-1."""
        ep = AppSyncEndpoint.from_url("http://127.0.0.1:8080/graphql")
        assert ep.kind == "local"
        assert ep.region == "us-east-1"
        assert ep.host == "127.0.0.1:8080"
        assert ep.realtime_url == "ws://127.0.0.1:8080/graphql/realtime"

    def test_localhost_and_ipv6_loopback_are_local(self) -> None:
        """localhost and [::1] count as loopback."""
        assert AppSyncEndpoint.from_url("http://localhost:9/graphql").kind == "local"
        ep = AppSyncEndpoint.from_url("http://[::1]:9/graphql", region="eu-west-2")
        assert ep.host == "[::1]:9"
        assert ep.realtime_url == "ws://[::1]:9/graphql/realtime"

    def test_explicit_realtime_url_wins(self) -> None:
        """An explicit realtime_url is used as given."""
        ep = AppSyncEndpoint.from_url(
            "https://api.example.com/graphql",
            region="us-east-1",
            realtime_url="wss://rt.example.com/graphql/realtime",
        )
        assert ep.realtime_url == "wss://rt.example.com/graphql/realtime"

    def test_endpoint_is_immutable(self) -> None:
        """AppSyncEndpoint is a frozen value object."""
        ep = AppSyncEndpoint.from_url(STD)
        with pytest.raises(AttributeError):
            ep.region = "us-east-1"  # type: ignore[misc]


BAD_URLS = [
    ("", {}, "empty"),
    ("   ", {}, "empty"),
    ("api.example.com/graphql", {}, "no scheme"),
    ("ftp://api.example.com/graphql", {}, "scheme 'ftp'"),
    ("wss://api.example.com/graphql", {}, "scheme 'wss'"),
    ("https:///graphql", {}, "no host"),
    ("https://api.example.com", {"region": "us-east-1"}, "no path"),
    ("https://api.example.com/", {"region": "us-east-1"}, "no path"),
    ("https://api.example.com/graphql", {"region": "moon"}, "not an AWS region"),
    ("https://api.example.com/graphql", {"region": "US-EAST-1"}, "not an AWS region"),
    ("https://api.example.com/graphql?x=1", {"region": "us-east-1"}, "query"),
    ("https://api.example.com/graphql#f", {"region": "us-east-1"}, "query"),
    ("https://u:p@api.example.com/graphql", {"region": "us-east-1"}, "credentials"),
    ("https://api.example.com:99999/graphql", {"region": "us-east-1"}, "not a valid"),
    ("http://api.example.com/graphql", {"region": "us-east-1"}, "plain http"),
    (STD.replace("https", "http"), {}, "https"),
]


@pytest.mark.parametrize(("url", "kwargs", "message"), BAD_URLS)
def test_bad_urls_raise_configuration_error(
    url: str, kwargs: dict[str, str], message: str
) -> None:
    """Each bad URL raises ConfigurationError (a ValueError) saying what is wrong."""
    with pytest.raises(ConfigurationError, match=message) as info:
        AppSyncEndpoint.from_url(url, **kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "realtime_url",
    ["https://rt.example.com/graphql", "ws://rt.example.com/graphql/realtime"],
)
def test_bad_realtime_urls_are_rejected(realtime_url: str) -> None:
    """A realtime_url must be wss:// (ws:// only to loopback)."""
    with pytest.raises(ConfigurationError):
        AppSyncEndpoint.from_url(
            "https://api.example.com/graphql",
            region="us-east-1",
            realtime_url=realtime_url,
        )
