"""STEPLINE_HTTP_* settings: every allow-entry form, bad entries and bad values."""

from __future__ import annotations

import ipaddress

import pytest

from stepline.egress import AllowRule, EgressSettings
from stepline.egress._settings import parse_allow


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("api.example.com", AllowRule(host="api.example.com")),
        ("API.Example.COM", AllowRule(host="api.example.com")),
        ("api.example.com.", AllowRule(host="api.example.com")),
        ("localhost", AllowRule(host="localhost")),
        ("_srv.internal", AllowRule(host="_srv.internal")),
        ("*.example.com", AllowRule(host="*.example.com")),
        ("api.example.com:8443", AllowRule(host="api.example.com", port=8443)),
        ("*.corp:443", AllowRule(host="*.corp", port=443)),
        ("bücher.example", AllowRule(host="xn--bcher-kva.example")),
        ("10.0.0.5", AllowRule(network=ipaddress.ip_network("10.0.0.5/32"))),
        ("10.0.0.5:8080", AllowRule(network=ipaddress.ip_network("10.0.0.5/32"), port=8080)),
        ("127.0.0.0/8", AllowRule(network=ipaddress.ip_network("127.0.0.0/8"))),
        ("10.1.2.3/8", AllowRule(network=ipaddress.ip_network("10.0.0.0/8"))),
        ("10.0.0.0/8:8080", AllowRule(network=ipaddress.ip_network("10.0.0.0/8"), port=8080)),
        ("::1", AllowRule(network=ipaddress.ip_network("::1/128"))),
        ("::1/128", AllowRule(network=ipaddress.ip_network("::1/128"))),
        ("fd00::/8", AllowRule(network=ipaddress.ip_network("fd00::/8"))),
        ("[::1]", AllowRule(network=ipaddress.ip_network("::1/128"))),
        ("[::1]:8080", AllowRule(network=ipaddress.ip_network("::1/128"), port=8080)),
        ("[fd00::/8]:443", AllowRule(network=ipaddress.ip_network("fd00::/8"), port=443)),
    ],
)
def test_each_entry_form_parses(entry: str, expected: AllowRule) -> None:
    assert parse_allow(entry) == (expected,)
    assert AllowRule.parse(entry) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "api.example.com:0",
        "api.example.com:65536",
        "api.example.com:",
        "api.example.com:http",
        "10.0.0.300",
        "10.1",
        "10.0.0.0/33",
        "*",
        "*.",
        "a.*.example.com",
        "ex ample.com",
        "-bad.example.com",
        "under_score-.example",
        "http://api.example.com",
        "api.example.com/path",
        "[10.0.0.1]:80",
        "[::1]:port",
        "[::1",
        "a..b",
    ],
)
def test_bad_entry_names_variable_entry_and_forms(entry: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_allow(f"127.0.0.0/8, {entry}")
    message = str(caught.value)
    assert message.startswith("STEPLINE_HTTP_ALLOW: ")
    assert repr(entry) in message
    assert "accepted forms" in message
    assert "*.example.com" in message and "10.0.0.0/8" in message and ":PORT" in message


def test_list_is_split_on_commas_trimmed_and_deduplicated() -> None:
    rules = parse_allow(" 127.0.0.0/8 ,, api.internal:8443, 127.0.0.0/8 ,")
    assert [str(rule) for rule in rules] == ["127.0.0.0/8", "api.internal:8443"]
    assert parse_allow("") == ()
    assert parse_allow(" , ") == ()


@pytest.mark.parametrize(
    "text", ["api.example.com", "*.example.com:443", "10.0.0.5", "10.0.0.0/8:80", "[::1]:8080"]
)
def test_rule_prints_as_an_entry_that_parses_back(text: str) -> None:
    rule = AllowRule.parse(text)
    assert str(rule) == text
    assert AllowRule.parse(str(rule)) == rule


def test_from_env_reads_every_variable() -> None:
    settings = EgressSettings.from_env(
        {
            "STEPLINE_HTTP_ALLOW": "127.0.0.0/8,localhost:8080",
            "STEPLINE_HTTP_TIMEOUT_SECONDS": "2.5",
            "STEPLINE_HTTP_RESPONSE_WINDOW_BYTES": "1024",
            "STEPLINE_HTTP_MAX_CONNECTIONS_PER_HOST": "7",
        }
    )
    assert [str(rule) for rule in settings.allow] == ["127.0.0.0/8", "localhost:8080"]
    assert settings.timeout_seconds == 2.5
    assert settings.response_window_bytes == 1024
    assert settings.max_connections_per_host == 7


def test_from_env_defaults_are_aws_values() -> None:
    settings = EgressSettings.from_env({})
    assert settings == EgressSettings()
    assert settings.allow == ()
    assert settings.timeout_seconds == 60.0
    assert settings.response_window_bytes == 262_144
    assert EgressSettings.from_env({"STEPLINE_HTTP_TIMEOUT_SECONDS": " "}) == settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STEPLINE_HTTP_TIMEOUT_SECONDS", "0"),
        ("STEPLINE_HTTP_TIMEOUT_SECONDS", "-1"),
        ("STEPLINE_HTTP_TIMEOUT_SECONDS", "soon"),
        ("STEPLINE_HTTP_TIMEOUT_SECONDS", "inf"),
        ("STEPLINE_HTTP_TIMEOUT_SECONDS", "nan"),
        ("STEPLINE_HTTP_RESPONSE_WINDOW_BYTES", "0"),
        ("STEPLINE_HTTP_RESPONSE_WINDOW_BYTES", "1.5"),
        ("STEPLINE_HTTP_RESPONSE_WINDOW_BYTES", "256k"),
        ("STEPLINE_HTTP_MAX_CONNECTIONS_PER_HOST", "-3"),
    ],
)
def test_from_env_bad_value_names_variable_and_value(name: str, value: str) -> None:
    with pytest.raises(ValueError) as caught:
        EgressSettings.from_env({name: value})
    assert name in str(caught.value)
    assert repr(value) in str(caught.value)


def test_settings_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        EgressSettings(timeout_seconds=0)
    with pytest.raises(ValueError, match="response_window_bytes"):
        EgressSettings(response_window_bytes=0)
    with pytest.raises(ValueError, match="max_connections_per_host"):
        EgressSettings(max_connections_per_host=0)


def test_allow_rule_needs_exactly_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        AllowRule()
    with pytest.raises(ValueError, match="exactly one"):
        AllowRule(host="a", network=ipaddress.ip_network("10.0.0.0/8"))
    with pytest.raises(ValueError, match="port"):
        AllowRule(host="a", port=70000)
