"""A :class:`~stepline.policy.Roles` registry as plain JSON data, and back.

The service saves roles, inline policies, customer managed policies (every version) and
attachments after each IAM change and loads them when it starts (see
:meth:`Roles.export_state` / :meth:`Roles.load_state`). Documents are kept as the caller sent
them and compiled again on load; AWS managed policies are not saved (they come from the
catalogue the registry is built with), only which roles they are attached to.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from stepline.policy._document import parse_policy
from stepline.policy._records import InlinePolicy, ManagedPolicy, PolicyVersion, Role

if TYPE_CHECKING:
    from stepline.policy._roles import Roles

__all__ = ["STATE_FORMAT", "export_state", "load_state"]

STATE_FORMAT: Final = 1


def export_state(roles: Roles) -> dict[str, Any]:
    """Everything ``roles`` holds beyond its AWS managed catalogue, as JSON-ready data."""
    with roles._lock:
        return {
            "format": STATE_FORMAT,
            "account": roles.account,
            "partition": roles.partition,
            "roles": [_role(role) for role in roles._roles.values()],
            "policies": [_policy(record) for record in roles._policies.values()],
        }


def _role(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "path": role.path,
        "arn": role.arn,
        "role_id": role.role_id,
        "trust_policy": role.trust_policy,
        "description": role.description,
        "max_session_duration": role.max_session_duration,
        "created": role.created.isoformat(),
        "tags": role.tags,
        "inline": [{"name": p.name, "document": p.document} for p in role.inline.values()],
        "attached": list(role.attached),
    }


def _policy(record: ManagedPolicy) -> dict[str, Any]:
    return {
        "name": record.name,
        "path": record.path,
        "arn": record.arn,
        "policy_id": record.policy_id,
        "description": record.description,
        "created": record.created.isoformat(),
        "updated": record.updated.isoformat(),
        "tags": record.tags,
        "default_version_id": record.default_version_id,
        "next_version": record.next_version,
        "versions": [
            {"version_id": v.version_id, "document": v.document, "created": v.created.isoformat()}
            for v in record.versions.values()
        ],
    }


def load_state(roles: Roles, state: dict[str, Any]) -> None:
    """Replace the roles and customer managed policies of ``roles`` with ``state``.

    Raises:
        ValueError: ``state`` is not what :func:`export_state` writes (another format, another
            account, an attachment to a policy that does not exist); nothing is changed then.
        MalformedPolicyDocument: A saved document no longer parses.
    """
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"unknown format {state.get('format')!r}")
    if state.get("account") != roles.account or state.get("partition") != roles.partition:
        raise ValueError(
            f"saved for account {state.get('account')} ({state.get('partition')}), not "
            f"{roles.account} ({roles.partition})"
        )
    policies: dict[str, ManagedPolicy] = {}
    for item in state["policies"]:
        record = ManagedPolicy(
            name=item["name"],
            path=item["path"],
            arn=item["arn"],
            policy_id=item["policy_id"],
            description=item["description"],
            created=datetime.fromisoformat(item["created"]),
            updated=datetime.fromisoformat(item["updated"]),
            tags=[dict(tag) for tag in item["tags"]],
            aws_managed=False,
            versions={
                v["version_id"]: PolicyVersion(
                    v["version_id"],
                    v["document"],
                    datetime.fromisoformat(v["created"]),
                    parse_policy(v["document"], name=f"{item['arn']} ({v['version_id']})"),
                )
                for v in item["versions"]
            },
            default_version_id=item["default_version_id"],
            next_version=int(item["next_version"]),
        )
        if record.default_version_id not in record.versions:
            raise ValueError(f"policy {record.arn} lacks its default version")
        policies[record.name.lower()] = record
    by_arn = {record.arn: record for record in policies.values()}
    with roles._lock:
        by_arn.update(roles._aws)
        loaded: dict[str, Role] = {}
        for item in state["roles"]:
            role = Role(
                name=item["name"],
                path=item["path"],
                arn=item["arn"],
                role_id=item["role_id"],
                trust_policy=item["trust_policy"],
                description=item["description"],
                max_session_duration=int(item["max_session_duration"]),
                created=datetime.fromisoformat(item["created"]),
                tags=[dict(tag) for tag in item["tags"]],
                inline={
                    p["name"].lower(): InlinePolicy(
                        p["name"],
                        p["document"],
                        parse_policy(
                            p["document"], name=f'inline policy "{p["name"]}" of {item["name"]}'
                        ),
                    )
                    for p in item["inline"]
                },
                attached=list(item["attached"]),
            )
            for arn in role.attached:
                if arn not in by_arn:
                    raise ValueError(f"role {role.name} is attached to unknown policy {arn}")
            loaded[role.name.lower()] = role
        for record in roles._aws.values():
            record.attached_to.clear()
        for key, role in loaded.items():
            for arn in role.attached:
                by_arn[arn].attached_to.add(key)
        roles._roles = loaded
        roles._policies = policies
        roles._changed()
