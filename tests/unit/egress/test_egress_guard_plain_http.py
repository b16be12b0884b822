"""Plain ``http://`` that no allow rule could admit is refused before any DNS lookup."""

from __future__ import annotations

import pytest

from stepline.egress import AllowRule, EgressRefused
from stepline.egress._guard import EgressGuard


def test_plain_http_to_a_name_without_rules_is_refused_at_once() -> None:
    with pytest.raises(EgressRefused) as refused:
        EgressGuard().check_scheme("http", "api.example.com", 80)
    assert "plain http://" in str(refused.value)
    assert "STEPLINE_HTTP_ALLOW=api.example.com:80" in str(refused.value)


@pytest.mark.parametrize(
    "rules",
    [
        # A network rule might cover what the name resolves to: the resolver decides.
        (AllowRule.parse("10.0.0.0/8"),),
        (AllowRule.parse("api.example.com"),),
        (AllowRule.parse("*.example.com:80"),),
    ],
)
def test_plain_http_that_a_rule_may_allow_waits_for_the_addresses(
    rules: tuple[AllowRule, ...],
) -> None:
    EgressGuard(rules).check_scheme("http", "api.example.com", 80)


def test_https_and_other_ports_are_unaffected() -> None:
    EgressGuard().check_scheme("https", "api.example.com", 443)
    with pytest.raises(EgressRefused):
        EgressGuard((AllowRule.parse("api.example.com:8080"),)).check_scheme(
            "http", "api.example.com", 80
        )


def test_an_ipv6_literal_keeps_its_brackets_in_the_suggestion() -> None:
    with pytest.raises(EgressRefused) as refused:
        EgressGuard().check("http", "::1", 8080, [], literal=True)
    assert "STEPLINE_HTTP_ALLOW=[::1]:8080" in str(refused.value)
