"""The egress rules: which destinations are public, and what the allow list opens up."""

from __future__ import annotations

import ipaddress

import pytest

from stepline.egress import EgressRefused
from stepline.egress._guard import EgressGuard, IPAddress, non_public_reason
from stepline.egress._settings import parse_allow


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("169.254.1.1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("192.0.0.8", "reserved"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("100::1", "discard"),
        ("2001:db8::1", "documentation"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("64:ff9b:1::1", "NAT64"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("::127.0.0.1", "loopback"),
        ("::10.1.2.3", "private"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a9fe:a9fe::1", "cloud metadata"),
        ("64:ff9b::10.0.0.1", "private"),
        ("64:ff9b::127.0.0.1", "loopback"),
        ("4000::1", "reserved"),
    ],
)
def test_non_public_addresses_have_a_reason(address: str, reason: str) -> None:
    found = non_public_reason(ip(address))
    assert found is not None
    assert reason in found


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "64:ff9b::8.8.8.8",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert non_public_reason(ip(address)) is None


def refusal(guard: EgressGuard, scheme: str, host: str, port: int, *addresses: str) -> str:
    with pytest.raises(EgressRefused) as caught:
        guard.check(scheme, host, port, [ip(a) for a in addresses])
    return str(caught.value)


def test_default_allows_public_https_only() -> None:
    guard = EgressGuard()
    guard.check("https", "api.example.com", 443, [ip("93.184.216.34"), ip("2606:2800::1")])
    message = refusal(guard, "http", "api.example.com", 80, "93.184.216.34")
    assert "http://api.example.com:80" in message
    assert "plain http://" in message
    assert "STEPLINE_HTTP_ALLOW=api.example.com:80" in message


def test_refusal_names_origin_address_reason_and_the_fix() -> None:
    message = refusal(EgressGuard(), "https", "internal.example", 8443, "10.0.0.5")
    assert message.startswith("Refused to send a request to https://internal.example:8443")
    assert "resolves to 10.0.0.5, a private address" in message
    assert "STEPLINE_HTTP_ALLOW=internal.example:8443" in message


def test_one_non_public_address_among_public_ones_refuses() -> None:
    message = refusal(EgressGuard(), "https", "mixed.example", 443, "8.8.8.8", "127.0.0.1")
    assert "127.0.0.1, a loopback address" in message


def test_literal_refusal_wording_and_ipv6_brackets() -> None:
    guard = EgressGuard()
    with pytest.raises(EgressRefused) as caught:
        guard.check("https", "fd00::1", 443, [ip("fd00::1")], literal=True)
    message = str(caught.value)
    assert "https://[fd00::1]:443" in message
    assert "it is a private (unique local) address" in message
    assert "STEPLINE_HTTP_ALLOW=[fd00::1]:443" in message


@pytest.mark.parametrize("scheme", ["ftp", "file", "gopher", "ws", "wss", "HTTPS", ""])
def test_other_schemes_are_refused_even_when_allowed(scheme: str) -> None:
    guard = EgressGuard(parse_allow("0.0.0.0/0,::/0,*.example.com,example.com"))
    with pytest.raises(EgressRefused, match="is not supported"):
        guard.check(scheme, "example.com", 21, [ip("8.8.8.8")])


def test_network_rule_allows_http_and_private_addresses() -> None:
    guard = EgressGuard(parse_allow("127.0.0.0/8"))
    guard.check("http", "127.0.0.1", 8080, [ip("127.0.0.1")])
    guard.check("https", "localhost", 8443, [ip("127.0.0.1")])
    # ::1 is not in 127.0.0.0/8: a name resolving to both is refused.
    message = refusal(guard, "https", "localhost", 8443, "127.0.0.1", "::1")
    assert "::1, a loopback address" in message


def test_network_rule_covers_ipv4_mapped_addresses() -> None:
    guard = EgressGuard(parse_allow("10.0.0.0/8"))
    guard.check("http", "svc.internal", 80, [ip("::ffff:10.1.2.3")])


def test_network_rule_with_port_allows_only_that_port() -> None:
    guard = EgressGuard(parse_allow("10.0.0.0/8:8080,[::1]:9000"))
    guard.check("http", "10.0.0.7", 8080, [ip("10.0.0.7")])
    guard.check("http", "::1", 9000, [ip("::1")])
    refusal(guard, "http", "10.0.0.7", 8081, "10.0.0.7")
    refusal(guard, "https", "10.0.0.7", 443, "10.0.0.7")
    refusal(guard, "http", "::1", 9001, "::1")


def test_host_rule_allows_that_name_whatever_it_resolves_to() -> None:
    guard = EgressGuard(parse_allow("api.internal,Svc.Corp:8443"))
    guard.check("http", "api.internal", 80, [ip("10.0.0.9")])
    guard.check("https", "API.INTERNAL.", 443, [ip("192.168.0.2")])
    guard.check("http", "svc.corp", 8443, [ip("172.16.0.1")])
    refusal(guard, "http", "svc.corp", 80, "172.16.0.1")
    # Another name resolving to the same address gets nothing from the rule.
    refusal(guard, "https", "other.internal", 443, "10.0.0.9")


def test_wildcard_host_rule_covers_subdomains_only() -> None:
    guard = EgressGuard(parse_allow("*.corp.example"))
    guard.check("http", "a.corp.example", 80, [ip("10.0.0.1")])
    guard.check("http", "b.a.corp.example", 80, [ip("10.0.0.1")])
    refusal(guard, "http", "corp.example", 80, "10.0.0.1")
    refusal(guard, "http", "evilcorp.example", 80, "10.0.0.1")


def test_allowed_destinations_may_use_plain_http_others_may_not() -> None:
    guard = EgressGuard(parse_allow("10.0.0.5"))
    guard.check("http", "10.0.0.5", 80, [ip("10.0.0.5")])
    refusal(guard, "http", "8.8.8.8", 80, "8.8.8.8")


def test_no_addresses_is_refused() -> None:
    with pytest.raises(EgressRefused, match="no address"):
        EgressGuard().check("https", "empty.example", 443, [])


def test_refusal_never_contains_path_or_query() -> None:
    # The guard is given only scheme, host and port; the message has nowhere to leak a query.
    message = refusal(EgressGuard(), "https", "h.example", 443, "10.0.0.1")
    assert "?" not in message and "/v1" not in message
