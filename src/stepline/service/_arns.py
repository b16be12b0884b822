"""ARNs and names of Step Functions resources: building, parsing, and AWS's rules for them.

Every operation of the service that takes or returns an ARN goes through this module, so that
one rule decides what a state machine, version, alias, execution or activity ARN looks like and
every malformed one is refused the same way: ``InvalidArn`` with AWS's message form
(``Invalid Arn: '<reason>'``) followed by what to send instead.

Shapes (``<p>`` is ``arn:<partition>:states:<region>:<account>``):

- state machine ``<p>:stateMachine:<name>``; version ``…:<name>:<n>`` (n = 1, 2, …); alias
  ``…:<name>:<alias>`` (an alias name always has a letter, ``_``, ``-`` or ``.``, so a
  qualifier of digits only is a version);
- execution ``<p>:execution:<state machine name>:<execution name>`` (a Distributed Map child:
  ``<p>:execution:<state machine name>/<map run label>:<execution name>``);
- Express execution ``<p>:express:<state machine name>:<execution name>:<uuid>``;
- activity ``<p>:activity:<name>``.

Names (state machines, executions, activities) follow AWS's rule: 1-80 characters, none of
whitespace, brackets ``< > { } [ ]``, wildcards ``? *``, the special characters
``" # % \\ ^ | ~ ` $ & , ; : /`` or control characters (U+0000-U+001F, U+007F-U+009F).

The parsers do not check that the region and account are the service's own: an ARN of another
region or account parses, and the lookup that follows answers "does not exist".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from stepline.api import ServiceError

__all__ = [
    "INVALID_ARN",
    "INVALID_NAME",
    "ActivityArn",
    "Arns",
    "ExecutionArn",
    "StateMachineArn",
    "StatesArn",
    "check_name",
    "check_role_arn",
    "invalid_arn",
    "is_valid_alias_name",
    "is_valid_name",
    "parse_activity_arn",
    "parse_execution_arn",
    "parse_state_machine_arn",
    "parse_states_arn",
]

INVALID_ARN: Final = "InvalidArn"
INVALID_NAME: Final = "InvalidName"

ResourceType = Literal["stateMachine", "execution", "express", "activity", "mapRun"]

_NAME: Final = re.compile(r'[^\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}')
# An alias name (botocore's CharacterRestrictedName): needs one non-digit so that it never
# reads as a version number.
_ALIAS_NAME: Final = re.compile(r"(?=.*[a-zA-Z_\-.])[a-zA-Z0-9_\-.]{1,80}")
_VERSION: Final = re.compile(r"[1-9][0-9]{0,9}")
_PARTITION: Final = re.compile(r"aws(-[a-z]+)*")
# Lenient on purpose: an operator may configure a region such as "local".
_REGION: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")
_ROLE: Final = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
_RESOURCE_TYPES: Final = frozenset({"stateMachine", "execution", "express", "activity", "mapRun"})

_NAME_RULE: Final = (
    "use 1 to 80 characters without whitespace, brackets (< > { } [ ]), wildcards (? *), "
    'special characters (" # % \\ ^ | ~ ` $ & , ; : /) or control characters'
)


def is_valid_name(name: str) -> bool:
    """Whether ``name`` follows AWS's rule for state machine, execution and activity names."""
    return _NAME.fullmatch(name) is not None


def check_name(name: str, *, what: str = "state machine") -> None:
    """Refuse a name that breaks AWS's naming rule.

    Args:
        name: The name.
        what: What it names, for the message (``state machine``, ``execution``…).

    Raises:
        ServiceError: ``InvalidName`` (``Invalid Name: '<name>'``, then the rule).
    """
    if not is_valid_name(name):
        raise ServiceError(
            INVALID_NAME,
            f"Invalid Name: '{_shown(name)}'. A {what} name must {_NAME_RULE}.",
        )


def is_valid_alias_name(name: str) -> bool:
    """Whether ``name`` may name an alias (letters, digits, ``_ - .``; not digits only)."""
    return _ALIAS_NAME.fullmatch(name) is not None


def invalid_arn(reason: str, hint: str) -> ServiceError:
    """The ``InvalidArn`` error: AWS's ``Invalid Arn: '<reason>'`` and what to do."""
    return ServiceError(INVALID_ARN, f"Invalid Arn: '{reason}'. {hint}")


@dataclass(frozen=True, slots=True)
class StatesArn:
    """Any ``arn:<partition>:states:<region>:<account>:<type>:<rest>`` ARN, split.

    Attributes:
        arn: The ARN as given.
        partition: ``aws``, ``aws-cn``…
        region: The region.
        account: The 12-digit account id.
        resource_type: ``stateMachine``, ``execution``, ``express``, ``activity``, ``mapRun``.
        resource: Everything after the resource type and its colon.
    """

    arn: str
    partition: str
    region: str
    account: str
    resource_type: ResourceType
    resource: str

    @property
    def prefix(self) -> str:
        """``arn:<partition>:states:<region>:<account>:``."""
        return f"arn:{self.partition}:states:{self.region}:{self.account}:"


@dataclass(frozen=True, slots=True)
class StateMachineArn:
    """A state machine ARN, possibly qualified by a version number or an alias name.

    Attributes:
        arn: The ARN as given.
        state_machine_arn: The unqualified state machine ARN.
        name: The state machine's name.
        version: The version number of a version ARN, else ``None``.
        alias: The alias name of an alias ARN, else ``None``.
    """

    arn: str
    state_machine_arn: str
    name: str
    version: int | None = None
    alias: str | None = None

    @property
    def qualified(self) -> bool:
        """Whether it names a version or an alias rather than the state machine."""
        return self.version is not None or self.alias is not None


@dataclass(frozen=True, slots=True)
class ExecutionArn:
    """An execution ARN (Standard, Express, or a Distributed Map child).

    Attributes:
        arn: The ARN as given.
        state_machine_arn: The unqualified ARN of the state machine it runs.
        state_machine_name: That state machine's name.
        name: The execution name.
        express: Whether it is an Express execution ARN.
        map_run_label: The Map Run label of a Distributed Map child execution, else ``None``.
    """

    arn: str
    state_machine_arn: str
    state_machine_name: str
    name: str
    express: bool = False
    map_run_label: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityArn:
    """An activity ARN.

    Attributes:
        arn: The ARN as given.
        name: The activity name.
    """

    arn: str
    name: str


class Arns:
    """Builds the ARNs of one region and account (the service's configured ones).

    Args:
        region: The region in every ARN.
        account: The 12-digit account id in every ARN.
        partition: The partition (``aws`` unless told otherwise).

    Raises:
        ValueError: The region, account or partition could not appear in an ARN (a
            configuration error, caught at startup).
    """

    __slots__ = ("account", "partition", "prefix", "region")

    def __init__(self, region: str, account: str, *, partition: str = "aws") -> None:
        if not _REGION.fullmatch(region):
            raise ValueError(f"region {region!r} is not a region name such as us-east-1")
        if not _ACCOUNT.fullmatch(account):
            raise ValueError(f"account {account!r} is not a 12-digit AWS account id")
        if not _PARTITION.fullmatch(partition):
            raise ValueError(f"partition {partition!r} is not a partition such as aws")
        self.region = region
        self.account = account
        self.partition = partition
        self.prefix = f"arn:{partition}:states:{region}:{account}:"

    def state_machine(self, name: str) -> str:
        """``<prefix>stateMachine:<name>``."""
        return f"{self.prefix}stateMachine:{name}"

    def execution(self, state_machine_name: str, name: str) -> str:
        """``<prefix>execution:<state machine name>:<name>``."""
        return f"{self.prefix}execution:{state_machine_name}:{name}"

    def express_execution(self, state_machine_name: str, name: str, run_id: str) -> str:
        """``<prefix>express:<state machine name>:<name>:<run id>`` (AWS puts a UUID last)."""
        return f"{self.prefix}express:{state_machine_name}:{name}:{run_id}"

    def activity(self, name: str) -> str:
        """``<prefix>activity:<name>``."""
        return f"{self.prefix}activity:{name}"

    @staticmethod
    def version(state_machine_arn: str, version: int) -> str:
        """The ARN of version ``version`` of an (unqualified) state machine ARN."""
        return f"{state_machine_arn}:{version}"

    @staticmethod
    def alias(state_machine_arn: str, alias_name: str) -> str:
        """The ARN of alias ``alias_name`` of an (unqualified) state machine ARN."""
        return f"{state_machine_arn}:{alias_name}"


def parse_states_arn(arn: str, *, field: str, expected: str) -> StatesArn:
    """Split any Step Functions ARN, refusing what is not one.

    Args:
        arn: The ARN.
        field: The request member it came in (for the message).
        expected: What the member takes, e.g. ``a state machine ARN
            (arn:aws:states:<region>:<account>:stateMachine:<name>)``.

    Raises:
        ServiceError: ``InvalidArn``.
    """
    hint = f"Pass {expected} as {field}."
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[0] != "arn" or not _PARTITION.fullmatch(parts[1]):
        raise invalid_arn(f"Invalid ARN prefix: {_shown(arn)}", hint)
    _, partition, service, region, account, resource_type, resource = parts
    if service != "states":
        raise invalid_arn(f"Invalid ARN service: {_shown(service)}", hint)
    if not _REGION.fullmatch(region):
        raise invalid_arn(f"Invalid ARN region: {_shown(region)}", hint)
    if not _ACCOUNT.fullmatch(account):
        raise invalid_arn(f"Invalid ARN account: {_shown(account)}", hint)
    if resource_type not in _RESOURCE_TYPES:
        raise invalid_arn(f"Invalid ARN resource type: {_shown(resource_type)}", hint)
    if not resource:
        raise invalid_arn(f"Invalid ARN resource: {_shown(arn)}", hint)
    return StatesArn(arn, partition, region, account, resource_type, resource)  # type: ignore[arg-type]


_STATE_MACHINE_HINT: Final = (
    "a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)"
)
_QUALIFIED_HINT: Final = (
    "a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>, "
    "optionally followed by :<version number> or :<alias name>)"
)


def parse_state_machine_arn(
    arn: str, *, field: str = "stateMachineArn", qualified: bool = True
) -> StateMachineArn:
    """Parse a state machine ARN, with a version or alias qualifier if ``qualified``.

    Whether an operation accepts versions, aliases or neither is the caller's business: with
    ``qualified=True`` both parse and the caller checks :attr:`StateMachineArn.version` /
    :attr:`StateMachineArn.alias`; with ``qualified=False`` any qualifier is ``InvalidArn``.

    Raises:
        ServiceError: ``InvalidArn`` (wrong resource type, bad name, bad qualifier), or
            ``ValidationException`` (reason ``API_DOES_NOT_SUPPORT_LABELED_ARNS``) for the ARN
            of a Distributed Map state (``…:stateMachine:<name>/<label>``), as AWS answers.
    """
    expected = _QUALIFIED_HINT if qualified else _STATE_MACHINE_HINT
    parsed = parse_states_arn(arn, field=field, expected=expected)
    hint = f"Pass {expected} as {field}."
    if parsed.resource_type != "stateMachine":
        raise invalid_arn(f"Resource type not valid in this context: {parsed.resource_type}", hint)
    name, sep, qualifier = parsed.resource.partition(":")
    machine_name, slash, label = name.partition("/")
    if slash and is_valid_name(machine_name) and label and not sep:
        # AWS's "labeled" ARN of a Distributed Map state: a ValidationException, not InvalidArn.
        raise ServiceError(
            "ValidationException",
            f"The ARN {_shown(arn)} names a Distributed Map state (label {_shown(label)}), "
            f"which this operation does not accept; pass {expected} as {field}.",
            fields={"reason": "API_DOES_NOT_SUPPORT_LABELED_ARNS"},
        )
    if not is_valid_name(name):
        raise invalid_arn(f"Invalid state machine name: {_shown(name)}", hint)
    base = f"{parsed.prefix}stateMachine:{name}"
    if not sep:
        return StateMachineArn(arn, base, name)
    if not qualified:
        raise invalid_arn(f"Qualifier not valid in this context: {_shown(qualifier)}", hint)
    if _VERSION.fullmatch(qualifier):
        return StateMachineArn(arn, base, name, version=int(qualifier))
    if _ALIAS_NAME.fullmatch(qualifier):
        return StateMachineArn(arn, base, name, alias=qualifier)
    raise invalid_arn(f"Invalid version or alias qualifier: {_shown(qualifier)}", hint)


_EXECUTION_HINT: Final = (
    "an execution ARN (arn:aws:states:<region>:<account>:execution:<state machine name>:"
    "<execution name>)"
)


def parse_execution_arn(
    arn: str, *, field: str = "executionArn", allow_express: bool = True
) -> ExecutionArn:
    """Parse a Standard, Express or Distributed Map child execution ARN.

    Raises:
        ServiceError: ``InvalidArn``.
    """
    parsed = parse_states_arn(arn, field=field, expected=_EXECUTION_HINT)
    hint = f"Pass {_EXECUTION_HINT} as {field}."
    kinds = ("execution", "express") if allow_express else ("execution",)
    if parsed.resource_type not in kinds:
        raise invalid_arn(f"Resource type not valid in this context: {parsed.resource_type}", hint)
    express = parsed.resource_type == "express"
    parts = parsed.resource.split(":")
    if len(parts) != (3 if express else 2) or (express and not parts[2]):
        raise invalid_arn(f"Invalid execution ARN resource: {_shown(parsed.resource)}", hint)
    machine, name = parts[0], parts[1]
    machine_name, slash, label = machine.partition("/")
    if not is_valid_name(machine_name) or (slash and (express or not label)):
        raise invalid_arn(f"Invalid state machine name: {_shown(machine)}", hint)
    if not is_valid_name(name):
        raise invalid_arn(f"Invalid execution name: {_shown(name)}", hint)
    return ExecutionArn(
        arn,
        f"{parsed.prefix}stateMachine:{machine_name}",
        machine_name,
        name,
        express=express,
        map_run_label=label if slash else None,
    )


_ACTIVITY_HINT: Final = "an activity ARN (arn:aws:states:<region>:<account>:activity:<name>)"


def parse_activity_arn(arn: str, *, field: str = "activityArn") -> ActivityArn:
    """Parse an activity ARN.

    Raises:
        ServiceError: ``InvalidArn``.
    """
    parsed = parse_states_arn(arn, field=field, expected=_ACTIVITY_HINT)
    hint = f"Pass {_ACTIVITY_HINT} as {field}."
    if parsed.resource_type != "activity":
        raise invalid_arn(f"Resource type not valid in this context: {parsed.resource_type}", hint)
    if not is_valid_name(parsed.resource):
        raise invalid_arn(f"Invalid activity name: {_shown(parsed.resource)}", hint)
    return ActivityArn(arn, parsed.resource)


def check_role_arn(arn: str, *, field: str = "roleArn") -> None:
    """Refuse an execution role that is not an IAM role ARN.

    Raises:
        ServiceError: ``InvalidArn``.
    """
    if _ROLE.fullmatch(arn):
        return
    hint = f"Pass an IAM role ARN (arn:aws:iam::<account>:role/<name>) as {field}."
    if not arn.startswith("arn:"):
        raise invalid_arn(f"Invalid ARN prefix: {_shown(arn)}", hint)
    raise invalid_arn(f"Not an IAM role ARN: {_shown(arn)}", hint)


def _shown(text: str) -> str:
    """``text`` as it may appear inside a quoted message part (bounded, no quotes)."""
    if len(text) > 300:
        text = text[:300] + "…"
    return text.replace("'", "\\'")
