"""ARN building and parsing, and AWS's name rules (stepline.service._arns)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepline.api import ServiceError
from stepline.service._arns import (
    Arns,
    check_name,
    check_role_arn,
    is_valid_alias_name,
    is_valid_name,
    parse_activity_arn,
    parse_execution_arn,
    parse_state_machine_arn,
)

ARNS = Arns("us-east-1", "123456789012")
PREFIX = "arn:aws:states:us-east-1:123456789012:"


def code_of(call: object, *args: object, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(ServiceError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.code, info.value.message


def test_building() -> None:
    machine = ARNS.state_machine("flow")
    assert machine == PREFIX + "stateMachine:flow"
    assert Arns.version(machine, 3) == machine + ":3"
    assert Arns.alias(machine, "prod") == machine + ":prod"
    assert ARNS.execution("flow", "run") == PREFIX + "execution:flow:run"
    assert ARNS.express_execution("flow", "run", "u") == PREFIX + "express:flow:run:u"
    assert ARNS.activity("act") == PREFIX + "activity:act"
    assert Arns("cn-north-1", "123456789012", partition="aws-cn").prefix.startswith("arn:aws-cn:")


@pytest.mark.parametrize(
    ("region", "account"),
    [("us east", "123456789012"), ("us-east-1", "1234"), ("", "123456789012")],
)
def test_bad_configuration(region: str, account: str) -> None:
    with pytest.raises(ValueError, match=r"region|account"):
        Arns(region, account)


def test_state_machine_arns() -> None:
    machine = ARNS.state_machine("flow.v2_x-y")
    plain = parse_state_machine_arn(machine)
    assert (plain.name, plain.state_machine_arn, plain.qualified) == ("flow.v2_x-y", machine, False)
    version = parse_state_machine_arn(machine + ":12")
    assert (version.version, version.alias, version.state_machine_arn) == (12, None, machine)
    alias = parse_state_machine_arn(machine + ":prod-1")
    assert (alias.version, alias.alias) == (None, "prod-1")
    assert (
        parse_state_machine_arn(
            "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:x"
        ).name
        == "x"
    )


@pytest.mark.parametrize(
    ("arn", "reason"),
    [
        ("", "Invalid ARN prefix"),
        ("flow", "Invalid ARN prefix: flow"),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", "Invalid ARN service: lambda"),
        (PREFIX.replace("123456789012", "12") + "stateMachine:x", "Invalid ARN account"),
        (PREFIX + "execution:m:e", "Resource type not valid in this context: execution"),
        (PREFIX + "activity:a", "Resource type not valid in this context: activity"),
        (PREFIX + "widget:a", "Invalid ARN resource type: widget"),
        (PREFIX + "stateMachine:", "Invalid ARN resource"),
        (PREFIX + "stateMachine:a b", "Invalid state machine name"),
        (PREFIX + "stateMachine:x:0", "Invalid version or alias qualifier: 0"),
        (PREFIX + "stateMachine:x:a b", "Invalid version or alias qualifier"),
        (PREFIX + "stateMachine:x:1:2", "Invalid version or alias qualifier"),
    ],
)
def test_invalid_state_machine_arns(arn: str, reason: str) -> None:
    code, message = code_of(parse_state_machine_arn, arn)
    assert code == "InvalidArn"
    assert message.startswith(f"Invalid Arn: '{reason}")
    assert "stateMachineArn" in message  # says which member and what to pass


def test_qualifier_refused_when_not_wanted() -> None:
    code, message = code_of(
        parse_state_machine_arn, ARNS.state_machine("x") + ":3", qualified=False
    )
    assert code == "InvalidArn"
    assert "Qualifier not valid in this context" in message


def test_labeled_arn_is_a_validation_error() -> None:
    with pytest.raises(ServiceError) as info:
        parse_state_machine_arn(ARNS.state_machine("x") + "/mapLabel")
    assert info.value.code == "ValidationException"
    assert info.value.fields == {"reason": "API_DOES_NOT_SUPPORT_LABELED_ARNS"}


def test_execution_arns() -> None:
    standard = parse_execution_arn(ARNS.execution("flow", "run-1"))
    assert (standard.state_machine_name, standard.name, standard.express) == (
        "flow",
        "run-1",
        False,
    )
    assert standard.state_machine_arn == ARNS.state_machine("flow")
    express = parse_execution_arn(ARNS.express_execution("flow", "run", "abc"))
    assert (express.express, express.name, express.state_machine_arn) == (
        True,
        "run",
        ARNS.state_machine("flow"),
    )
    child = parse_execution_arn(PREFIX + "execution:flow/label:uuid")
    assert (child.map_run_label, child.state_machine_name) == ("label", "flow")
    for bad in (
        PREFIX + "execution:flow",
        PREFIX + "execution:flow:a:b",
        PREFIX + "express:flow:run",
        PREFIX + "stateMachine:flow",
        PREFIX + "execution:flow:has space",
    ):
        assert code_of(parse_execution_arn, bad)[0] == "InvalidArn", bad
    assert (
        code_of(parse_execution_arn, ARNS.express_execution("f", "r", "u"), allow_express=False)[0]
        == "InvalidArn"
    )


def test_activity_arns() -> None:
    assert parse_activity_arn(ARNS.activity("work")).name == "work"
    assert code_of(parse_activity_arn, ARNS.state_machine("work"))[0] == "InvalidArn"


def test_role_arns() -> None:
    check_role_arn("arn:aws:iam::123456789012:role/service-role/my-role")
    for bad in ("role", "arn:aws:iam::123456789012:user/bob", "arn:aws:iam::12:role/x"):
        code, message = code_of(check_role_arn, bad)
        assert code == "InvalidArn"
        assert "roleArn" in message


@pytest.mark.parametrize(
    "name",
    [
        "a b",
        "a\tb",
        "a<b",
        "a>b",
        "a{b",
        "a}b",
        "a[b",
        "a]b",
        "a?b",
        "a*b",
        'a"b',
        "a#b",
        "a%b",
        "a\\b",
        "a^b",
        "a|b",
        "a~b",
        "a`b",
        "a$b",
        "a&b",
        "a,b",
        "a;b",
        "a:b",
        "a/b",
        "a\x00b",
        "a\x1fb",
        "a\x7fb",
        "a\x9fb",
        "",
        "x" * 81,
    ],
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)
    code, message = code_of(check_name, name, what="execution")
    assert code == "InvalidName"
    assert "execution name" in message


@pytest.mark.parametrize("name", ["a", "x" * 80, "flow.v2", "über-flow", "a_b-c", "123"])
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    check_name(name)


def test_alias_names() -> None:
    assert is_valid_alias_name("prod")
    assert is_valid_alias_name("v1.2")
    assert not is_valid_alias_name("123")
    assert not is_valid_alias_name("has space")


@given(st.text(min_size=1, max_size=80))
def test_built_arns_parse_back(name: str) -> None:
    if not is_valid_name(name):
        return
    machine = ARNS.state_machine(name)
    assert parse_state_machine_arn(machine).name == name
    assert parse_execution_arn(ARNS.execution(name, name)).state_machine_arn == machine
