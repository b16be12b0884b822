"""Properties: the parser refuses only with MalformedPolicyDocument; evaluation never crashes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.policy import MalformedPolicyDocument, evaluate, parse_policy

KEYS = st.sampled_from(
    [
        "Version",
        "Statement",
        "Id",
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "StringLike",
        "ForAnyValue:StringEquals",
        "NumericLessThan",
        "Null",
        "ArnLike",
        "IpAddress",
        "DateEqualsIfExists",
        "states:HTTPMethod",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "Allow",
            "Deny",
            "2012-10-17",
            "2008-10-17",
            "*",
            "states:Invoke*",
            "arn:aws:states:*:*:stateMachine:*",
            "${aws:username}",
            "${",
            "true",
            "10",
            "2020-01-01T00:00:00Z",
            "10.0.0.0/8",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KEYS | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)

CONTEXT = st.dictionaries(
    st.sampled_from(["states:HTTPMethod", "aws:username", "test:key", "s3:prefix"]),
    st.text(max_size=8) | st.lists(st.text(max_size=5), max_size=3),
    max_size=3,
)


def _parse_or_refuse(document: Any) -> None:
    try:
        parse_policy(document)
    except MalformedPolicyDocument as error:
        assert error.code == "MalformedPolicyDocument"
        assert error.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_values_only_raise_malformed(document: Any) -> None:
    _parse_or_refuse(document)
    _parse_or_refuse(json.dumps(document))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_only_raises_malformed(text: str) -> None:
    _parse_or_refuse(text)


STATEMENT = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": st.sampled_from(["*", "states:*", "states:Invoke*", "s3:Get?bject"]),
        "Resource": st.sampled_from(
            ["*", "arn:aws:states:*", "arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/?"]
        ),
    },
    optional={
        "Condition": st.fixed_dictionaries(
            {},
            optional={
                "StringLike": st.just({"s3:prefix": ["home/${aws:username}/*", "x*"]}),
                "StringNotEqualsIfExists": st.just({"states:HTTPMethod": "GET"}),
                "ForAllValues:StringEquals": st.just({"test:key": ["a", "b"]}),
                "Null": st.just({"aws:username": "false"}),
            },
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(STATEMENT, min_size=1, max_size=4),
    st.sampled_from(["states:InvokeHTTPEndpoint", "S3:GetObject", "events:PutEvents"]),
    st.sampled_from(["arn:aws:states:r:1:stateMachine:a", "arn:aws:s3:::b/x/y", "arn:aws:s3:::b/"]),
    CONTEXT,
)
def test_evaluation_follows_deny_then_allow(
    statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any]
) -> None:
    whole = parse_policy({"Version": "2012-10-17", "Statement": statements})
    decision = evaluate([whole], action=action, resource=resource, context=context)
    # Splitting the statements over one policy each never changes the outcome.
    split = [parse_policy({"Version": "2012-10-17", "Statement": [s]}) for s in statements]
    assert evaluate(split, action=action, resource=resource, context=context).outcome is (
        decision.outcome
    )
    assert (
        evaluate(list(reversed(split)), action=action, resource=resource, context=context).outcome
        is decision.outcome
    )
    if decision.statement is not None:
        expected = "Deny" if decision.explicit_deny else "Allow"
        assert decision.statement.effect.value == expected
