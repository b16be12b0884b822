"""State machine versions and aliases: publish, list, delete; alias create/describe/update/
delete/list.

AWS's rules kept here:

- PublishStateMachineVersion is idempotent per revision: publishing a revision that already has
  a version answers that version. A ``revisionId`` that is not the current one is a
  ``ConflictException``.
- A version an alias routes to cannot be deleted (``ConflictException``); deleting a version
  that does not exist succeeds.
- An alias routes to one or two versions of one state machine, with weights summing to 100
  (else ``ValidationException``, reason ``INVALID_ROUTING_CONFIGURATION``).
  CreateStateMachineAlias is idempotent: the same name, description and routing answers the
  existing alias; a different one is a ``ConflictException``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stepline.api import Handler, RequestContext, ServiceError
from stepline.service._arns import (
    Arns,
    StateMachineArn,
    invalid_arn,
    is_valid_alias_name,
    parse_state_machine_arn,
)
from stepline.service._context import ServiceContext
from stepline.service._sm_common import (
    conflict,
    does_not_exist,
    is_deleting,
    now,
    resource_not_found,
    timestamp,
    validation_error,
)
from stepline.store import (
    AliasRecord,
    InvalidPageToken,
    RecordNotFound,
    StateMachineVersionRecord,
    Store,
    StoreConflict,
)

__all__ = ["handlers", "version_of_revision"]

_ROUTING = "INVALID_ROUTING_CONFIGURATION"
_VERSION_HINT = "Pass a version ARN (the state machine ARN followed by ':<version number>')"
_ALIAS_HINT = "Pass an alias ARN (the state machine ARN followed by ':<alias name>')"


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The version and alias operations, by ``states:<Op>`` key."""
    ops = _VersionOps(context)
    return {
        "states:PublishStateMachineVersion": ops.publish,
        "states:ListStateMachineVersions": ops.list_versions,
        "states:DeleteStateMachineVersion": ops.delete_version,
        "states:CreateStateMachineAlias": ops.create_alias,
        "states:DescribeStateMachineAlias": ops.describe_alias,
        "states:UpdateStateMachineAlias": ops.update_alias,
        "states:DeleteStateMachineAlias": ops.delete_alias,
        "states:ListStateMachineAliases": ops.list_aliases,
    }


async def version_of_revision(
    store: Store, state_machine_arn: str, revision_id: str
) -> StateMachineVersionRecord | None:
    """The version published from ``revision_id``, if any (newest versions are read first)."""
    token: str | None = None
    for _ in range(1000):  # at most 1000 versions per state machine on AWS; a bound, not a rule
        page = await store.list_versions(state_machine_arn, max_results=1000, next_token=token)
        for version in page.items:
            if version.revision.revision_id == revision_id:
                return version
        token = page.next_token
        if token is None:
            break
    return None


def _page(items: list[dict[str, Any]], key: str, token: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {key: items}
    if token is not None:
        result["nextToken"] = token
    return result


def _unqualified(arn: str, operation: str) -> StateMachineArn:
    parsed = parse_state_machine_arn(arn)
    if parsed.qualified:
        raise validation_error(
            f"{operation} takes an unqualified state machine ARN, not the version or alias "
            f"'{arn}'; pass '{parsed.state_machine_arn}'."
        )
    return parsed


def _alias_arn(arn: str, field: str = "stateMachineAliasArn") -> StateMachineArn:
    parsed = parse_state_machine_arn(arn, field=field)
    if parsed.alias is None:
        raise invalid_arn(f"Not an alias ARN: {arn}", f"{_ALIAS_HINT} as {field}.")
    return parsed


def _alias_output(alias: AliasRecord) -> dict[str, Any]:
    result: dict[str, Any] = {
        "stateMachineAliasArn": alias.arn,
        "name": alias.name,
        "routingConfiguration": [
            {"stateMachineVersionArn": version_arn, "weight": weight}
            for version_arn, weight in alias.routing
        ],
        "creationDate": timestamp(alias.creation_date),
        "updateDate": timestamp(alias.update_date),
    }
    if alias.description is not None:
        result["description"] = alias.description
    return result


class _VersionOps:
    def __init__(self, context: ServiceContext) -> None:
        self.store = context.store

    # -- versions ---------------------------------------------------------------------------

    async def publish(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineArn"]
        _unqualified(arn, "PublishStateMachineVersion")
        machine = await self.store.get_state_machine(arn)
        if machine is None:
            raise does_not_exist(arn)
        if machine.status == "DELETING":
            raise is_deleting(arn)
        expected = request.get("revisionId")
        if expected is not None and expected != machine.revision_id:
            raise _stale_revision(expected, machine.revision_id)
        try:
            version, _ = await self.store.publish_version(
                arn,
                creation_date=now(),
                description=request.get("description"),
                expected_revision_id=expected or machine.revision_id,
            )
        except RecordNotFound as error:
            raise does_not_exist(arn) from error
        except StoreConflict as error:
            fresh = await self.store.get_state_machine(arn)
            if fresh is None:
                raise does_not_exist(arn) from error
            if fresh.status == "DELETING":
                raise is_deleting(arn) from error
            raise _stale_revision(expected or machine.revision_id, fresh.revision_id) from error
        return {
            "creationDate": timestamp(version.creation_date),
            "stateMachineVersionArn": version.arn,
        }

    async def list_versions(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineArn"]
        _unqualified(arn, "ListStateMachineVersions")
        try:
            page = await self.store.list_versions(
                arn, max_results=request.get("maxResults", 0), next_token=request.get("nextToken")
            )
        except InvalidPageToken as error:
            raise ServiceError("InvalidToken", str(error)) from error
        items = [
            {"stateMachineVersionArn": v.arn, "creationDate": timestamp(v.creation_date)}
            for v in page.items
        ]
        return _page(items, "stateMachineVersions", page.next_token)

    async def delete_version(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        field = "stateMachineVersionArn"
        arn: str = request[field]
        parsed = parse_state_machine_arn(arn, field=field)
        if parsed.version is None:
            raise invalid_arn(f"Not a version ARN: {arn}", f"{_VERSION_HINT} as {field}.")
        try:
            await self.store.delete_version(arn)
        except StoreConflict as error:
            routed = await self._aliases_routing_to(parsed.state_machine_arn, arn)
            raise conflict(
                f"Version '{arn}' cannot be deleted while aliases route to it: "
                f"{', '.join(routed) or 'an alias'}. Update those aliases to other versions "
                "(UpdateStateMachineAlias) or delete them first."
            ) from error
        return {}

    async def _aliases_routing_to(self, state_machine_arn: str, version_arn: str) -> list[str]:
        aliases = await self._all_aliases(state_machine_arn)
        return [a.arn for a in aliases if any(v == version_arn for v, _ in a.routing)]

    async def _all_aliases(self, state_machine_arn: str) -> list[AliasRecord]:
        found: list[AliasRecord] = []
        token: str | None = None
        for _ in range(100):  # AWS allows 100 aliases per state machine
            page = await self.store.list_aliases(
                state_machine_arn, max_results=1000, next_token=token
            )
            found.extend(page.items)
            token = page.next_token
            if token is None:
                break
        return found

    # -- aliases ----------------------------------------------------------------------------

    async def _checked_routing(
        self, routing: Sequence[Mapping[str, Any]], machine_arn: str | None
    ) -> tuple[str, tuple[tuple[str, int], ...]]:
        """The routing as stored, and the state machine it routes to.

        Raises:
            ServiceError: ``InvalidArn``, ``ValidationException`` (reason
                ``INVALID_ROUTING_CONFIGURATION``), ``ResourceNotFound`` (a version or the
                state machine does not exist), ``StateMachineDeleting``.
        """
        field = "routingConfiguration.stateMachineVersionArn"
        parsed = [
            parse_state_machine_arn(item["stateMachineVersionArn"], field=field) for item in routing
        ]
        for item in parsed:
            if item.version is None:
                raise validation_error(
                    f"Routing configuration entry '{item.arn}' is not a version ARN; "
                    f"{_VERSION_HINT[0].lower()}{_VERSION_HINT[1:]} for every entry.",
                    _ROUTING,
                )
        machines = {item.state_machine_arn for item in parsed}
        if len(machines) > 1 or (machine_arn is not None and machines != {machine_arn}):
            raise validation_error(
                "Every version of a routing configuration must belong to the same state "
                f"machine{f' (the alias is of {machine_arn!r})' if machine_arn else ''}; "
                f"got versions of {', '.join(sorted(machines))}.",
                _ROUTING,
            )
        if len({item.arn for item in parsed}) != len(parsed):
            raise validation_error(
                "A routing configuration must name two different versions; to send all "
                "executions to one version give it alone with weight 100.",
                _ROUTING,
            )
        total = sum(int(item["weight"]) for item in routing)
        if total != 100:
            raise validation_error(
                f"The weights of a routing configuration must add up to 100; they add up to "
                f"{total}.",
                _ROUTING,
            )
        (state_machine_arn,) = machines
        machine = await self.store.get_state_machine(state_machine_arn)
        if machine is None:
            raise resource_not_found(
                "state machine", state_machine_arn, "Create it and publish versions first."
            )
        if machine.status == "DELETING":
            raise is_deleting(state_machine_arn)
        for item in parsed:
            if await self.store.get_version(item.arn) is None:
                raise resource_not_found(
                    "state machine version",
                    item.arn,
                    "Publish it first (PublishStateMachineVersion); ListStateMachineVersions "
                    "shows the versions that exist.",
                )
        stored = tuple(
            (item.arn, int(entry["weight"])) for item, entry in zip(parsed, routing, strict=True)
        )
        return state_machine_arn, stored

    async def create_alias(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        name: str = request["name"]
        if not is_valid_alias_name(name):
            raise ServiceError(
                "InvalidName",
                f"Invalid Name: '{name}'. An alias name uses 1 to 80 letters, digits, '_', '-' "
                "or '.', and is not digits only.",
            )
        machine_arn, routing = await self._checked_routing(request["routingConfiguration"], None)
        created = now()
        record = AliasRecord(
            arn=Arns.alias(machine_arn, name),
            state_machine_arn=machine_arn,
            name=name,
            routing=routing,
            creation_date=created,
            update_date=created,
            description=request.get("description"),
        )
        try:
            stored = await self.store.create_alias(record)
        except RecordNotFound as error:
            raise resource_not_found("resource", error.key, "It was deleted meanwhile.") from error
        except StoreConflict as error:
            existing = error.existing
            if not isinstance(existing, AliasRecord):
                raise is_deleting(machine_arn) from error
            if existing.routing != routing or existing.description != record.description:
                raise conflict(
                    f"Alias '{existing.arn}' already exists with another routing configuration "
                    "or description; change it with UpdateStateMachineAlias, or choose another "
                    "name."
                ) from error
            stored = existing
        return {
            "stateMachineAliasArn": stored.arn,
            "creationDate": timestamp(stored.creation_date),
        }

    async def describe_alias(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineAliasArn"]
        _alias_arn(arn)
        alias = await self.store.get_alias(arn)
        if alias is None:
            raise _alias_not_found(arn)
        return _alias_output(alias)

    async def update_alias(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineAliasArn"]
        parsed = _alias_arn(arn)
        if "description" not in request and "routingConfiguration" not in request:
            raise validation_error(
                "Nothing to update: give description, routingConfiguration, or both.",
                "MISSING_REQUIRED_PARAMETER",
            )
        alias = await self.store.get_alias(arn)
        if alias is None:
            raise _alias_not_found(arn)
        machine = await self.store.get_state_machine(parsed.state_machine_arn)
        if machine is not None and machine.status == "DELETING":
            raise is_deleting(parsed.state_machine_arn)
        routing = alias.routing
        if "routingConfiguration" in request:
            _, routing = await self._checked_routing(
                request["routingConfiguration"], alias.state_machine_arn
            )
        updated = AliasRecord(
            arn=alias.arn,
            state_machine_arn=alias.state_machine_arn,
            name=alias.name,
            routing=routing,
            creation_date=alias.creation_date,
            update_date=now(),
            description=request.get("description", alias.description),
        )
        try:
            await self.store.update_alias(updated)
        except RecordNotFound as error:
            raise _alias_not_found(arn) from error
        return {"updateDate": timestamp(updated.update_date)}

    async def delete_alias(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineAliasArn"]
        _alias_arn(arn)
        if not await self.store.delete_alias(arn):
            raise _alias_not_found(arn)
        return {}

    async def list_aliases(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineArn"]
        parsed = parse_state_machine_arn(arn)
        if parsed.alias is not None:
            raise invalid_arn(
                f"Not a state machine or version ARN: {arn}",
                "Pass the state machine ARN, or a version ARN to list the aliases routing to "
                "that version, as stateMachineArn.",
            )
        machine = await self.store.get_state_machine(parsed.state_machine_arn)
        if machine is None:
            raise does_not_exist(parsed.state_machine_arn)
        if machine.status == "DELETING":
            raise is_deleting(parsed.state_machine_arn)
        if parsed.version is not None:
            if await self.store.get_version(arn) is None:
                raise resource_not_found(
                    "state machine version", arn, "ListStateMachineVersions shows those that exist."
                )
            # Few aliases per state machine (AWS: 100): one page, filtered.
            aliases = await self._all_aliases(parsed.state_machine_arn)
            items = [
                {"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_date)}
                for a in aliases
                if any(v == arn for v, _ in a.routing)
            ]
            return _page(items, "stateMachineAliases", None)
        try:
            page = await self.store.list_aliases(
                arn, max_results=request.get("maxResults", 0), next_token=request.get("nextToken")
            )
        except InvalidPageToken as error:
            raise ServiceError("InvalidToken", str(error)) from error
        items = [
            {"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_date)}
            for a in page.items
        ]
        return _page(items, "stateMachineAliases", page.next_token)


def _stale_revision(given: str, current: str) -> ServiceError:
    return conflict(
        f"Failed to publish the state machine version for revision {given}: the current "
        f"revision is {current}. Describe the state machine again and publish its current "
        "revision (or leave revisionId out)."
    )


def _alias_not_found(arn: str) -> ServiceError:
    return resource_not_found(
        "state machine alias", arn, "ListStateMachineAliases shows the aliases that exist."
    )
