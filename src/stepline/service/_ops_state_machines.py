"""State machine operations: create, describe, update, delete, list, validate a definition.

Versions and aliases live in :mod:`stepline.service._sm_versions`, tags in
:mod:`stepline.service._sm_tags`; :func:`handlers` serves all of them.

AWS's rules kept here:

- CreateStateMachine is idempotent: the same name with the same definition, type, logging,
  tracing and encryption configurations, ``publish`` and ``versionDescription`` answers the
  existing ARN and creation date (a different ``roleArn`` or different tags are ignored, not
  applied); anything else is ``StateMachineAlreadyExists``; a ``DELETING`` one is
  ``StateMachineDeleting``.
- DeleteStateMachine marks the state machine ``DELETING`` and removes it (with its versions,
  aliases and tags) once none of its executions is running: at once when none is, else when
  the worker ends the last one (:func:`~stepline.service._sm_common.remove_if_idle`).
  Deleting one that does not exist succeeds, as on AWS.
"""

from __future__ import annotations

from typing import Any, Final

from stepline.api import Handler, RequestContext, ServiceError
from stepline.service import _sm_tags, _sm_versions
from stepline.service._arns import Arns, check_name, check_role_arn, parse_state_machine_arn
from stepline.service._context import ServiceContext
from stepline.service._sm_common import (
    conflict,
    does_not_exist,
    is_deleting,
    new_revision_id,
    now,
    remove_if_idle,
    timestamp,
    validation_error,
)
from stepline.service._sm_config import (
    check_definition,
    check_tags,
    definition_diagnostics,
    encryption_text,
    logging_text,
    shown_configuration,
    tracing_text,
)
from stepline.store import (
    InvalidPageToken,
    RecordNotFound,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StoreConflict,
)

__all__ = ["handlers"]

_VALIDATE_DEFAULT_MAX: Final = 100
_CONFIG_FIELDS: Final = (
    "definition",
    "roleArn",
    "loggingConfiguration",
    "tracingConfiguration",
    "encryptionConfiguration",
)


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """Every state machine, version, alias and tag operation, by ``states:<Op>`` key."""
    ops = _StateMachineOps(context)
    result: dict[str, Handler] = {
        "states:CreateStateMachine": ops.create,
        "states:DescribeStateMachine": ops.describe,
        "states:UpdateStateMachine": ops.update,
        "states:DeleteStateMachine": ops.delete,
        "states:ListStateMachines": ops.list,
        "states:ValidateStateMachineDefinition": ops.validate,
    }
    result.update(_sm_versions.handlers(context))
    result.update(_sm_tags.handlers(context))
    return result


def invalid_token(error: InvalidPageToken) -> ServiceError:
    """``InvalidToken`` for a ``nextToken`` the store refused."""
    return ServiceError("InvalidToken", str(error))


def version_description_without_publish() -> ServiceError:
    """AWS refuses a version description when nothing is published."""
    return validation_error(
        "versionDescription can only be set together with publish=true; set publish or "
        "drop the description."
    )


class _StateMachineOps:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.store = context.store
        self.arns = Arns(context.config.region, context.config.account)

    async def create(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        name: str = request["name"]
        check_name(name, what="state machine")
        role_arn: str = request["roleArn"]
        check_role_arn(role_arn)
        machine_type = request.get("type", "STANDARD")
        publish = bool(request.get("publish", False))
        description = request.get("versionDescription")
        if description is not None and not publish:
            raise version_description_without_publish()
        arn = self.arns.state_machine(name)
        revision = StateMachineRevisionRecord(
            revision_id=new_revision_id(),
            state_machine_arn=arn,
            definition=request["definition"],
            role_arn=role_arn,
            update_date=now(),
            logging_configuration=logging_text(request.get("loggingConfiguration")),
            tracing_configuration=tracing_text(request.get("tracingConfiguration")),
            encryption_configuration=encryption_text(request.get("encryptionConfiguration")),
        )
        tags = check_tags(request.get("tags"), arn)
        check_definition(revision.definition, machine_type)
        record = StateMachineRecord(
            arn=arn,
            name=name,
            type=machine_type,
            status="ACTIVE",
            creation_date=revision.update_date,
            revision=revision,
        )
        try:
            stored, version = await self.store.create_state_machine(
                record, tags=tags, publish=publish, version_description=description
            )
        except StoreConflict as error:
            return await self._existing(error.existing, record, publish, description)
        result: dict[str, Any] = {
            "stateMachineArn": stored.arn,
            "creationDate": timestamp(stored.creation_date),
        }
        if version is not None:
            result["stateMachineVersionArn"] = version.arn
        return result

    async def _existing(
        self,
        existing: StateMachineRecord | None,
        wanted: StateMachineRecord,
        publish: bool,
        description: str | None,
    ) -> dict[str, Any]:
        """AWS's answer to creating a name that is taken: idempotent, or a refusal."""
        if existing is None:  # removed between the write and this read; let the caller retry
            raise conflict(
                f"State machine '{wanted.arn}' changed while it was being created; retry."
            )
        if existing.status == "DELETING":
            raise is_deleting(existing.arn)
        same = (
            existing.type == wanted.type
            and existing.definition == wanted.definition
            and existing.revision.logging_configuration == wanted.revision.logging_configuration
            and existing.revision.tracing_configuration == wanted.revision.tracing_configuration
            and existing.revision.encryption_configuration
            == wanted.revision.encryption_configuration
        )
        version_arn: str | None = None
        if same:
            version = await _sm_versions.version_of_revision(
                self.store, existing.arn, existing.revision_id
            )
            if publish:
                same = version is not None and version.description == description
                version_arn = version.arn if version is not None else None
            else:
                same = version is None
        if not same:
            raise ServiceError(
                "StateMachineAlreadyExists",
                f"State Machine Already Exists: '{existing.arn}'. A state machine of this name "
                "exists with another definition, type, configuration or version; update it "
                "with UpdateStateMachine, or choose another name.",
            )
        result: dict[str, Any] = {
            "stateMachineArn": existing.arn,
            "creationDate": timestamp(existing.creation_date),
        }
        if version_arn is not None:
            result["stateMachineVersionArn"] = version_arn
        return result

    async def describe(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineArn"]
        parsed = parse_state_machine_arn(arn)
        if parsed.alias is not None:
            raise validation_error(
                f"DescribeStateMachine takes a state machine or version ARN, not the alias "
                f"'{arn}'; use DescribeStateMachineAlias for the alias (its routing names the "
                "versions to describe)."
            )
        machine = await self.store.get_state_machine(parsed.state_machine_arn)
        if machine is None:
            raise does_not_exist(arn)
        description: str | None = None
        creation_date = machine.creation_date
        revision = machine.revision
        if parsed.version is not None:
            version = await self.store.get_version(arn)
            if version is None:
                raise does_not_exist(arn)
            revision, creation_date, description = (
                version.revision,
                version.creation_date,
                version.description,
            )
        encryption = shown_configuration(revision.encryption_configuration, "encryption")
        result: dict[str, Any] = {
            "stateMachineArn": arn,
            "name": machine.name,
            "status": machine.status,
            "definition": revision.definition,
            "roleArn": revision.role_arn,
            "type": machine.type,
            "creationDate": timestamp(creation_date),
            "loggingConfiguration": shown_configuration(revision.logging_configuration, "logging"),
            "tracingConfiguration": shown_configuration(revision.tracing_configuration, "tracing"),
            "encryptionConfiguration": encryption,
            "revisionId": revision.revision_id,
        }
        if description is not None:
            result["description"] = description
        if (
            request.get("includedData") == "METADATA_ONLY"
            and encryption.get("type") == "CUSTOMER_MANAGED_KMS_KEY"
        ):
            del result["definition"]  # AWS leaves out what the customer's key encrypts
        return result

    async def update(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineArn"]
        parsed = parse_state_machine_arn(arn)
        if parsed.qualified:
            raise validation_error(
                f"UpdateStateMachine takes an unqualified state machine ARN, not the version "
                f"or alias '{arn}'; pass '{parsed.state_machine_arn}' (versions cannot "
                "change; publish a new one instead)."
            )
        if not any(field in request for field in _CONFIG_FIELDS):
            raise ServiceError(
                "MissingRequiredParameter",
                "Nothing to update: give at least one of definition, roleArn, "
                "loggingConfiguration, tracingConfiguration or encryptionConfiguration.",
            )
        publish = bool(request.get("publish", False))
        description = request.get("versionDescription")
        if description is not None and not publish:
            raise version_description_without_publish()
        machine = await self.store.get_state_machine(arn)
        if machine is None:
            raise does_not_exist(arn)
        if machine.status == "DELETING":
            raise is_deleting(arn)
        current = machine.revision
        if "roleArn" in request:
            check_role_arn(request["roleArn"])
        definition = request.get("definition", current.definition)
        if "definition" in request:
            check_definition(definition, machine.type)
        revision = StateMachineRevisionRecord(
            revision_id=new_revision_id(),
            state_machine_arn=arn,
            definition=definition,
            role_arn=request.get("roleArn", current.role_arn),
            update_date=now(),
            logging_configuration=(
                logging_text(request["loggingConfiguration"])
                if "loggingConfiguration" in request
                else current.logging_configuration
            ),
            tracing_configuration=(
                tracing_text(request["tracingConfiguration"])
                if "tracingConfiguration" in request
                else current.tracing_configuration
            ),
            encryption_configuration=(
                encryption_text(request["encryptionConfiguration"])
                if "encryptionConfiguration" in request
                else current.encryption_configuration
            ),
        )
        try:
            if _same_revision(current, revision):
                # Nothing changes: no new revision (so publishing stays idempotent).
                version = None
                if publish:
                    version, _ = await self.store.publish_version(
                        arn,
                        creation_date=revision.update_date,
                        description=description,
                        expected_revision_id=current.revision_id,
                    )
                revision = current
            else:
                _, version = await self.store.update_state_machine(
                    arn, revision, publish=publish, version_description=description
                )
        except RecordNotFound as error:
            raise does_not_exist(arn) from error
        except StoreConflict as error:
            raise await self._conflict(arn) from error
        result: dict[str, Any] = {
            "updateDate": timestamp(revision.update_date),
            "revisionId": revision.revision_id,
        }
        if version is not None:
            result["stateMachineVersionArn"] = version.arn
        return result

    async def _conflict(self, arn: str) -> ServiceError:
        machine = await self.store.get_state_machine(arn)
        if machine is None:
            return does_not_exist(arn)
        if machine.status == "DELETING":
            return is_deleting(arn)
        return conflict(
            f"State machine '{arn}' was changed by another request at the same time; "
            "describe it again and retry."
        )

    async def delete(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["stateMachineArn"]
        parsed = parse_state_machine_arn(arn)
        if parsed.qualified:
            raise validation_error(
                f"DeleteStateMachine takes an unqualified state machine ARN, not '{arn}'; "
                "delete a version with DeleteStateMachineVersion and an alias with "
                "DeleteStateMachineAlias."
            )
        if await self.store.mark_state_machine_deleting(arn) is not None:
            await remove_if_idle(self.context, arn)
        return {}

    async def list(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        try:
            page = await self.store.list_state_machines(
                max_results=request.get("maxResults", 0), next_token=request.get("nextToken")
            )
        except InvalidPageToken as error:
            raise invalid_token(error) from error
        result: dict[str, Any] = {
            "stateMachines": [
                {
                    "stateMachineArn": machine.arn,
                    "name": machine.name,
                    "type": machine.type,
                    "creationDate": timestamp(machine.creation_date),
                }
                for machine in page.items
            ]
        }
        if page.next_token is not None:
            result["nextToken"] = page.next_token
        return result

    async def validate(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        diagnostics = definition_diagnostics(request["definition"], request.get("type", "STANDARD"))
        failed = any(d.severity == "ERROR" for d in diagnostics)
        # AWS: severity ERROR (the default) returns errors only, WARNING returns both; errors
        # come first.
        if request.get("severity", "ERROR") == "ERROR":
            shown = [d for d in diagnostics if d.severity == "ERROR"]
        else:
            shown = sorted(diagnostics, key=lambda d: d.severity != "ERROR")
        limit = request.get("maxResults", 0) or _VALIDATE_DEFAULT_MAX
        return {
            "result": "FAIL" if failed else "OK",
            "diagnostics": [
                {
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    **({"location": d.location} if d.location else {}),
                }
                for d in shown[:limit]
            ],
            "truncated": len(shown) > limit,
        }


def _same_revision(a: StateMachineRevisionRecord, b: StateMachineRevisionRecord) -> bool:
    return (
        a.definition == b.definition
        and a.role_arn == b.role_arn
        and a.logging_configuration == b.logging_configuration
        and a.tracing_configuration == b.tracing_configuration
        and a.encryption_configuration == b.encryption_configuration
    )
