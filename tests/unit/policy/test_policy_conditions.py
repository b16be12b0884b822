"""Every condition operator, ``…IfExists``, ``Null``, set qualifiers and missing keys, AWS's way."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.policy import evaluate, parse_policy

KEY = "test:key"


def holds(
    operator: str,
    value: Any,
    context: dict[str, Any] | None = None,
    *,
    key: str = KEY,
    version: str = "2012-10-17",
) -> bool:
    document = {
        "Version": version,
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {operator: {key: value}},
            }
        ],
    }
    decision = evaluate([parse_policy(document)], action="a:b", resource="*", context=context or {})
    return decision.allowed


def present(value: Any) -> dict[str, Any]:
    return {KEY: value}


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("StringEquals", "GET", "GET", True),
        ("StringEquals", "GET", "get", False),
        ("StringEquals", "G*", "GET", False),  # no wildcards in StringEquals
        ("StringEquals", "G*", "G*", True),
        ("StringEquals", ["GET", "HEAD"], "HEAD", True),  # values are ORed
        ("StringNotEquals", "GET", "POST", True),
        ("StringNotEquals", "GET", "GET", False),
        ("StringNotEquals", ["GET", "HEAD"], "HEAD", False),  # NOR
        ("StringNotEquals", ["GET", "HEAD"], "PUT", True),
        ("StringEqualsIgnoreCase", "get", "GeT", True),
        ("StringEqualsIgnoreCase", "get", "post", False),
        ("StringNotEqualsIgnoreCase", "get", "GET", False),
        ("StringNotEqualsIgnoreCase", "get", "PUT", True),
        ("StringLike", "https://api.stripe.com/*", "https://api.stripe.com/v1/x", True),
        ("StringLike", "https://api.stripe.com/*", "https://api.stripe.com", False),
        ("StringLike", "https://*.example.com/*", "https://a.b.example.com/p", True),
        ("StringLike", "a?c", "abc", True),
        ("StringLike", "a?c", "ac", False),
        ("StringLike", "A*", "abc", False),  # case-sensitive
        ("StringLike", "arn:aws:*:finance/*", "arn:aws:s:r:1:finance/d", True),  # * crosses ':'
        ("StringNotLike", "https://api.stripe.com/*", "https://evil.example/", True),
        ("StringNotLike", "https://api.stripe.com/*", "https://api.stripe.com/x", False),
        ("StringNotLike", ["a*", "b*"], "bee", False),
        ("StringNotLike", ["a*", "b*"], "cat", True),
        ("Bool", "true", "true", True),
        ("Bool", "true", "TRUE", True),
        ("Bool", True, "true", True),
        ("Bool", "false", "true", False),
        ("NumericEquals", "10", "10", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", 10, "11", False),
        ("NumericNotEquals", "10", "11", True),
        ("NumericNotEquals", "10", "10", False),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "10.5", True),
        ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericLessThan", "10", "ten", False),  # not a number: no match
        ("NumericNotEquals", "10", "ten", False),  # …under negation too (fails closed)
        ("DateLessThan", "2030-01-01T00:00:00Z", "2029-12-31T23:59:59Z", True),
        ("DateLessThan", "2030-01-01T00:00:00Z", "2030-01-01T00:00:00+00:00", False),
        ("DateLessThanEquals", "2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2020-01-01", "2020-01-02T00:00:00Z", True),
        ("DateGreaterThanEquals", "2020-01-01T00:00:00Z", "1577836800", True),  # epoch
        ("DateEquals", "1577836800", "2020-01-01T00:00:00Z", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
        ("DateEquals", "2020-01-01T00:00:00Z", "yesterday", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "198.51.100.1", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("IpAddress", "2001:db8::/32", "203.0.113.7", False),
        ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.9", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
        ("BinaryEquals", "QmluYXJ5", "T3RoZXI=", False),
        (
            "ArnEquals",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sns:us-east-1:123456789012:topic",
            True,
        ),
        ("ArnLike", "arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-1:123456789012:t", True),
        (
            "ArnEquals",
            "arn:aws:sns:*:123456789012:*",
            "arn:aws:sns:eu-west-1:123456789012:t",
            True,
        ),  # ArnEquals takes wildcards too
        (
            "ArnLike",
            "arn:aws:sns:*:123456789012:*",
            "arn:aws:SNS:us-east-1:123456789012:t",
            False,
        ),  # case-sensitive
        # Each ARN component is matched on its own: this is AWS's own example.
        (
            "ArnLike",
            "arn:aws:someservice:*:111122223333:finance/*",
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/d.txt",
            False,
        ),
        (
            "StringLike",
            "arn:aws:someservice:*:111122223333:finance/*",
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/d.txt",
            True,
        ),
        (
            "ArnLike",
            "arn:aws:states:*:*:stateMachine:*",
            "arn:aws:states:r:1:stateMachine:a:b",
            True,
        ),  # the last component may hold colons
        ("ArnLike", "*", "arn:aws:states:r:1:stateMachine:a", True),
        ("ArnLike", "arn:aws:*", "not-an-arn", False),
        ("ArnNotEquals", "arn:aws:sns:*:*:a", "arn:aws:sns:r:1:b", True),
        ("ArnNotLike", "arn:aws:sns:*:*:a", "arn:aws:sns:r:1:a", False),
    ],
)
def test_operator_on_a_present_key(
    operator: str, policy_value: Any, request_value: str, expected: bool
) -> None:
    assert holds(operator, policy_value, present(request_value)) is expected


POSITIVE = [
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "Bool",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "IpAddress",
    "BinaryEquals",
]
NEGATED = [
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
]
SAMPLE_VALUE = {
    "Arn": "arn:aws:sns:us-east-1:123456789012:t",
    "Bool": "true",
    "Numeric": "10",
    "Date": "2020-01-01T00:00:00Z",
    "Ip": "203.0.113.0/24",
    "NotIp": "203.0.113.0/24",
    "Binary": "QmluYXJ5",
}


def sample(operator: str) -> str:
    for prefix, value in SAMPLE_VALUE.items():
        if operator.startswith(prefix):
            return value
    return "value"


@pytest.mark.parametrize("operator", POSITIVE)
def test_missing_key_makes_positive_operators_false(operator: str) -> None:
    assert holds(operator, sample(operator)) is False


@pytest.mark.parametrize("operator", NEGATED)
def test_missing_key_makes_negated_operators_true(operator: str) -> None:
    assert holds(operator, sample(operator)) is True


@pytest.mark.parametrize("operator", POSITIVE + NEGATED)
def test_if_exists_makes_a_missing_key_true(operator: str) -> None:
    assert holds(f"{operator}IfExists", sample(operator)) is True


@pytest.mark.parametrize(
    ("operator", "value", "request_value", "expected"),
    [
        ("StringEqualsIfExists", "GET", "GET", True),
        ("StringEqualsIfExists", "GET", "POST", False),
        ("StringLikeIfExists", "t2.*", "t2.micro", True),
        ("StringLikeIfExists", "t2.*", "m5.large", False),
        ("StringNotEqualsIfExists", "GET", "GET", False),
        ("NumericLessThanIfExists", "5", "9", False),
        ("ArnLikeIfExists", "arn:aws:sns:*:*:t", "arn:aws:sns:r:1:t", True),
        ("BoolIfExists", "false", "true", False),
    ],
)
def test_if_exists_checks_a_present_key_normally(
    operator: str, value: str, request_value: str, expected: bool
) -> None:
    assert holds(operator, value, present(request_value)) is expected


@pytest.mark.parametrize(
    ("value", "context", "expected"),
    [
        ("true", {}, True),
        ("true", present("x"), False),
        ("false", present("x"), True),
        ("false", {}, False),
        (True, {}, True),
        ("TRUE", {}, True),
        (["true", "false"], {}, True),
        ("true", present([]), True),  # an empty value set counts as absent
    ],
)
def test_null(value: Any, context: dict[str, Any], expected: bool) -> None:
    assert holds("Null", value, context) is expected


@pytest.mark.parametrize(
    ("operator", "request_values", "expected"),
    [
        ("ForAllValues:StringEquals", ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "z"], False),
        ("ForAllValues:StringEquals", None, True),  # no values: vacuously true
        ("ForAllValues:StringEquals", [], True),
        ("ForAnyValue:StringEquals", ["z", "b"], True),
        ("ForAnyValue:StringEquals", ["y", "z"], False),
        ("ForAnyValue:StringEquals", None, False),
        ("ForAnyValue:StringEquals", [], False),
        ("ForAllValues:StringLike", ["a", "bb"], True),
        ("ForAllValues:StringNotEquals", ["y", "z"], True),
        ("ForAllValues:StringNotEquals", ["a", "z"], False),
        ("ForAnyValue:StringNotEquals", ["a", "z"], True),
        ("ForAnyValue:StringNotEquals", ["a", "b"], False),
        ("ForAnyValue:StringEqualsIfExists", None, True),
        ("forallvalues:stringequals", ["a"], True),
        # Without a qualifier a multi-valued key is matched like ForAnyValue…
        ("StringEquals", ["z", "a"], True),
        # …and a negated operator holds only when no request value matches.
        ("StringNotEquals", ["z", "a"], False),
        ("StringNotEquals", ["y", "z"], True),
    ],
)
def test_set_qualifiers(operator: str, request_values: list[str] | None, expected: bool) -> None:
    context = {} if request_values is None else present(request_values)
    assert holds(operator, ["a", "b*" if "Like" in operator else "b"], context) is expected


def test_keys_within_an_operator_and_operators_are_anded() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"states:HTTPMethod": "GET", "aws:PrincipalType": "AssumedRole"},
                "StringLike": {"states:HTTPEndpoint": "https://api.stripe.com/*"},
            },
        },
    }
    policy = parse_policy(document)
    good = {
        "states:HTTPMethod": "GET",
        "aws:PrincipalType": "AssumedRole",
        "states:HTTPEndpoint": "https://api.stripe.com/v1",
    }

    def allowed(context: dict[str, str]) -> bool:
        return evaluate([policy], action="a:b", resource="*", context=context).allowed

    assert allowed(good)
    for key in good:
        assert not allowed({k: v for k, v in good.items() if k != key})
        assert not allowed({**good, key: "other"})


def test_condition_keys_ignore_case_in_the_policy_too() -> None:
    assert holds("StringEquals", "GET", {"States:HttpMethod": "GET"}, key="STATES:httpmethod")


# --- policy variables in condition values ----------------------------------------------------


def test_variable_in_string_condition_is_substituted() -> None:
    context = {"aws:username": "alice", "s3:prefix": "home/alice/docs"}
    assert holds("StringLike", "home/${aws:username}/*", context, key="s3:prefix")
    context["s3:prefix"] = "home/bob/docs"
    assert not holds("StringLike", "home/${aws:username}/*", context, key="s3:prefix")


def test_variable_in_arn_and_bool_conditions() -> None:
    context = {"aws:SourceArn": "arn:aws:sns:r:1:alice", "aws:username": "alice"}
    assert holds("ArnLike", "arn:aws:sns:*:*:${aws:username}", context, key="aws:SourceArn")
    flags = {"test:flag": "true", "test:expected": "TRUE"}
    assert holds("Bool", "${test:expected}", flags, key="test:flag")


def test_unresolved_variable_makes_positive_value_unmatchable() -> None:
    context = {"s3:prefix": "home//docs"}
    assert not holds("StringLike", "home/${aws:username}/*", context, key="s3:prefix")
    # Another, resolvable value can still match.
    assert holds("StringLike", ["home/${aws:username}/*", "home/*"], context, key="s3:prefix")


def test_unresolved_variable_makes_negated_condition_false() -> None:
    context = {"s3:prefix": "anything"}
    assert not holds("StringNotEquals", "${aws:username}", context, key="s3:prefix")
    # IfExists on a missing key still wins: the condition is true before any value is looked at.
    assert holds("StringNotEqualsIfExists", "${aws:username}", {}, key="s3:prefix")


def test_variables_are_literal_in_numeric_operators_and_old_versions() -> None:
    with pytest.raises(Exception, match="is not a number"):
        holds("NumericEquals", "${test:n}", {"test:n": "1", KEY: "1"})
    assert holds(
        "StringEquals", "${aws:username}", present("${aws:username}"), version="2008-10-17"
    )


def test_escapes_in_condition_values() -> None:
    assert holds("StringLike", "a${*}b*", present("a*bcd"))
    assert not holds("StringLike", "a${*}b*", present("axbcd"))
    assert holds("StringEquals", "cost${$}${?}", present("cost$?"))
