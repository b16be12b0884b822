"""Parsing and validating policy documents: what is accepted, what is refused and how it says so."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.policy import (
    Effect,
    MalformedPolicyDocument,
    Policy,
    parse_policy,
    validate_trust_policy,
)

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:Pay"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_parses_json_text_and_mappings_alike() -> None:
    text = json.dumps(doc(ALLOW_ALL))
    from_text = parse_policy(text, name="p")
    from_mapping = parse_policy(json.loads(text))
    assert isinstance(from_text, Policy)
    assert from_text.version == "2012-10-17"
    assert from_text.name == "p"
    assert len(from_text.statements) == len(from_mapping.statements) == 1


def test_single_statement_object_and_list_both_accepted() -> None:
    lone = parse_policy({"Version": "2012-10-17", "Statement": ALLOW_ALL})
    assert lone.statements[0].location == "Statement"
    listed = parse_policy(doc(ALLOW_ALL, {**ALLOW_ALL, "Effect": "Deny"}))
    assert [s.location for s in listed.statements] == ["Statement[0]", "Statement[1]"]
    assert [s.effect for s in listed.statements] == [Effect.ALLOW, Effect.DENY]


def test_statement_fields_are_kept() -> None:
    policy = parse_policy(
        doc(
            {
                "Sid": "Http",
                "Effect": "Allow",
                "NotAction": ["iam:*", "sts:*"],
                "NotResource": SM,
                "Condition": {"StringEquals": {"states:HTTPMethod": ["GET", "HEAD"]}},
            }
        )
    )
    statement = policy.statements[0]
    assert statement.sid == "Http"
    assert statement.actions == ("iam:*", "sts:*") and statement.not_action
    assert statement.resources == (SM,) and statement.not_resource
    (condition,) = statement.conditions
    assert (condition.operator, condition.key, condition.values) == (
        "StringEquals",
        "states:HTTPMethod",
        ("GET", "HEAD"),
    )
    assert statement.describe() == 'statement "Http" (Statement[0])'


@pytest.mark.parametrize("version", ["2012-10-17", "2008-10-17", None])
def test_known_versions_and_absent_version(version: str | None) -> None:
    assert parse_policy(doc(ALLOW_ALL, version=version)).version == version


def test_id_element_is_accepted() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Id": "abc", "Statement": [ALLOW_ALL]})
    assert policy.policy_id == "abc"


def malformed(document: object) -> str:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(document)  # type: ignore[arg-type]
    assert caught.value.code == "MalformedPolicyDocument"
    assert caught.value.http_status == 400
    return caught.value.message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{not json", "Syntax errors in policy"),
        ("[1, 2]", "must be a JSON object"),
        ('{"Version": "2012-10-17", "Statement": [{"Effect": NaN}]}', "NaN is not JSON"),
        ({"Version": "2012-10-17"}, "Policy: missing required element Statement"),
        ({"Version": "2013-01-01", "Statement": [ALLOW_ALL]}, "Version: '2013-01-01'"),
        ({"Version": 2012, "Statement": [ALLOW_ALL]}, "Version: 2012 is not"),
        ({"Version": "2012-10-17", "Statement": [ALLOW_ALL], "Extra": 1}, "unknown element"),
        ({"Version": "2012-10-17", "Id": 5, "Statement": [ALLOW_ALL]}, "Id: value must be"),
        (doc(), "Statement: the list is empty"),
        ({"Statement": "x"}, "Statement: must be an object or a list"),
        ({"Statement": [ALLOW_ALL, 3]}, "Statement[1]: must be an object"),
        (doc({**ALLOW_ALL, "Principal": "*"}), "should not specify a principal"),
        (doc({**ALLOW_ALL, "NotPrincipal": {"AWS": "*"}}), "should not specify a principal"),
        (doc({**ALLOW_ALL, "Effects": "Allow"}), "Statement[0]: unknown element 'Effects'"),
        (doc({"Action": "*", "Resource": "*"}), "missing required element Effect"),
        (doc({**ALLOW_ALL, "Effect": "allow"}), 'Statement[0].Effect: must be "Allow" or "Deny"'),
        (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions"),
        (doc({**ALLOW_ALL, "NotAction": "s3:*"}), "has both Action and NotAction"),
        (doc({"Effect": "Allow", "Action": "*"}), "Policy statement must contain resources"),
        (doc({**ALLOW_ALL, "NotResource": "*"}), "has both Resource and NotResource"),
        (doc({**ALLOW_ALL, "Action": []}), "Statement[0].Action: the list is empty"),
        (doc({**ALLOW_ALL, "Action": 5}), "Statement[0].Action: value must be a string"),
        (doc({**ALLOW_ALL, "Action": ["s3:Get", 5]}), "value must be a string or a list"),
        (doc({**ALLOW_ALL, "Action": "GetObject"}), "must be prefaced by a vendor"),
        (doc({**ALLOW_ALL, "Action": "s3*:Get"}), "must be prefaced by a vendor"),
        (doc({**ALLOW_ALL, "Resource": []}), "Statement[0].Resource: the list is empty"),
        (doc({**ALLOW_ALL, "Resource": "bucket"}), 'Resource bucket must be in ARN format or "*"'),
        (
            doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws"}),
            "Statement[0].NotResource: Resource arn:aws must be in ARN format",
        ),
        (doc({**ALLOW_ALL, "Sid": "has space"}), "Statement IDs (SID) must be alpha-numeric"),
        (doc({**ALLOW_ALL, "Sid": 3}), "Statement[0].Sid: value must be a string"),
        (
            doc({**ALLOW_ALL, "Sid": "A"}, {**ALLOW_ALL, "Sid": "A"}),
            "Statement[1].Sid: Statement IDs (SID) in a single policy must be unique",
        ),
        (doc({**ALLOW_ALL, "Condition": []}), "Statement[0].Condition: must be an object"),
        (
            doc({**ALLOW_ALL, "Condition": {"StringLike": {"s3:prefix": None}}}),
            "Statement[0].Condition.StringLike.s3:prefix: value must be a string",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringLike": {"s3:prefix": []}}}),
            "Statement[0].Condition.StringLike.s3:prefix: the list of values is empty",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringLike": {"s3:prefix": [{"a": 1}]}}}),
            "value must be a string, number or boolean",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringLike": "x"}}),
            "Statement[0].Condition.StringLike: must be an object mapping condition keys",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringLike": {}}}),
            "Statement[0].Condition.StringLike: names no condition key",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringSimilar": {"a:b": "x"}}}),
            "'StringSimilar' is not a condition operator",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"ForSomeValues:StringLike": {"a:b": "x"}}}),
            "'ForSomeValues' is not a set qualifier",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"NullIfExists": {"a:b": "true"}}}),
            "Null takes neither IfExists nor a set qualifier",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"Null": {"a:b": "yes"}}}),
            "'yes' is not true or false",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringEquals": {"HTTPMethod": "GET"}}}),
            "condition key 'HTTPMethod' has no vendor prefix",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}),
            "'ten' is not a number",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"DateLessThan": {"aws:CurrentTime": "soon"}}}),
            "'soon' is not an ISO 8601 date",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"IpAddress": {"aws:SourceIp": "300.1.1.1"}}}),
            "is not an IP address or CIDR range",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"BinaryEquals": {"a:b": "!!!"}}}),
            "is not base64",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"NumericEquals": {"a:b": 10**5000}}}),
            "the number has too many digits",
        ),
        ('{"Statement": [' + "1" * 5000 + "]}", "Syntax errors in policy"),
        ("[" * 100000 + "]" * 100000, "Syntax errors in policy"),
        (
            doc({**ALLOW_ALL, "Resource": "arn:aws:s3:::b/${aws:username"}),
            "has no closing '}'",
        ),
        (
            doc({**ALLOW_ALL, "Condition": {"StringEquals": {"a:b": "${}"}}}),
            "policy variable ${} is not valid",
        ),
    ],
)
def test_malformed_documents_say_where_and_why(document: object, expected: str) -> None:
    assert expected in malformed(document)


def test_variables_are_only_syntax_checked_in_2012_documents() -> None:
    # In older documents ${...} is plain text, so an unclosed one is fine.
    parse_policy(doc({**ALLOW_ALL, "Resource": "arn:aws:s3:::b/${aws:username"}, version=None))


def test_condition_values_may_be_numbers_and_booleans() -> None:
    policy = parse_policy(
        doc(
            {
                **ALLOW_ALL,
                "Condition": {
                    "Bool": {"aws:SecureTransport": True},
                    "NumericLessThanEquals": {"s3:max-keys": 10},
                    "NumericGreaterThan": {"s3:size": 1.5},
                },
            }
        )
    )
    assert [c.values for c in policy.statements[0].conditions] == [("true",), ("10",), ("1.5",)]


def test_empty_condition_object_means_no_conditions() -> None:
    assert parse_policy(doc({**ALLOW_ALL, "Condition": {}})).statements[0].conditions == ()


def test_operator_names_and_qualifiers_ignore_case() -> None:
    policy = parse_policy(
        doc({**ALLOW_ALL, "Condition": {"forAnyValue:stringlikeifexists": {"a:b": "x*"}}})
    )
    assert policy.statements[0].conditions[0].operator == "forAnyValue:stringlikeifexists"


def test_policy_repr_is_short_and_with_name_relabels() -> None:
    policy = parse_policy(doc(ALLOW_ALL), name="a")
    assert repr(policy) == "Policy(name='a', statements=1)"
    renamed = policy.with_name("b")
    assert renamed.name == "b" and renamed.statements is policy.statements


TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def test_trust_policy_accepted() -> None:
    validate_trust_policy(json.dumps(TRUST))
    validate_trust_policy({**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": "*"}]})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Resource": "*"}, "Has prohibited field Resource"),
        ({"Principal": None}, "Missing required field Principal"),
        ({"Principal": {"Robot": "x"}}, "unknown principal type"),
        ({"Principal": {}}, 'must be "*" or an object'),
        ({"Principal": {"AWS": []}}, "the list is empty"),
        ({"Action": None}, "Policy statement must contain actions"),
        ({"Whatever": 1}, "unknown element 'Whatever'"),
        ({"Condition": {"Bogus": {"a:b": "c"}}}, "is not a condition operator"),
    ],
)
def test_trust_policy_refusals(change: dict[str, Any], expected: str) -> None:
    statement = {**TRUST["Statement"][0], **change}
    statement = {k: v for k, v in statement.items() if v is not None}
    with pytest.raises(MalformedPolicyDocument, match="Statement") as caught:
        validate_trust_policy({"Version": "2012-10-17", "Statement": [statement]})
    assert expected in caught.value.message
