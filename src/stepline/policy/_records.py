"""The records behind :class:`~stepline.policy.Roles` and their AWS response shapes.

Mutable records stay private to the registry; what leaves it is either a fresh dict shaped like
the IAM model's output (``Role``, ``Policy``, ``PolicyVersion``) or the frozen
:class:`RoleIdentity`.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from stepline.policy._document import Policy

__all__ = [
    "InlinePolicy",
    "ManagedPolicy",
    "PolicyVersion",
    "Response",
    "Role",
    "RoleIdentity",
    "new_id",
    "page_response",
    "policy_shape",
    "role_shape",
    "stable_id",
    "version_shape",
]

Response = dict[str, Any]

_ID_ALPHABET: Final = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class RoleIdentity:
    """Who a role is, for request contexts and messages.

    Attributes:
        name: The role name.
        arn: The role ARN.
        role_id: The unique ``AROA…`` id.
        account: The account id.
        partition: The ARN partition (``aws``).
        tags: The role's tags as (key, value) pairs.
    """

    name: str
    arn: str
    role_id: str
    account: str
    partition: str
    tags: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class PolicyVersion:
    """One version of a managed policy: the document as sent and its compiled form."""

    version_id: str
    document: str
    created: datetime
    compiled: Policy


@dataclass(slots=True)
class ManagedPolicy:
    """A customer or AWS managed policy, its versions and the roles it is attached to."""

    name: str
    path: str
    arn: str
    policy_id: str
    description: str | None
    created: datetime
    updated: datetime
    tags: list[dict[str, str]]
    aws_managed: bool
    versions: dict[str, PolicyVersion] = field(default_factory=dict)
    default_version_id: str = "v1"
    next_version: int = 1
    attached_to: set[str] = field(default_factory=set)  # role keys (lower-case names)

    @property
    def default(self) -> PolicyVersion:
        """The version attached roles are evaluated with."""
        return self.versions[self.default_version_id]


@dataclass(slots=True)
class InlinePolicy:
    """An inline role policy: its name, the document as sent and its compiled form."""

    name: str
    document: str
    compiled: Policy


@dataclass(slots=True)
class Role:
    """A role, its inline policies (by lower-case name) and attached policy ARNs."""

    name: str
    path: str
    arn: str
    role_id: str
    trust_policy: str
    description: str | None
    max_session_duration: int
    created: datetime
    tags: list[dict[str, str]]
    inline: dict[str, InlinePolicy] = field(default_factory=dict)  # by lower-case name
    attached: list[str] = field(default_factory=list)  # managed policy ARNs


def new_id(prefix: str) -> str:
    """A random IAM unique id such as ``AROA…`` (the prefix and 17 upper-case letters/digits)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def stable_id(prefix: str, seed: str) -> str:
    """An IAM-looking id derived from ``seed``: the same in every run (AWS managed policies)."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return prefix + "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest[:17])


def role_shape(role: Role, *, full: bool) -> Response:
    """The IAM ``Role`` shape; ``full`` adds what only GetRole returns (Tags, RoleLastUsed)."""
    shape: Response = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created,
        "AssumeRolePolicyDocument": role.trust_policy,
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description is not None:
        shape["Description"] = role.description
    if full:
        if role.tags:
            shape["Tags"] = [dict(tag) for tag in role.tags]
        shape["RoleLastUsed"] = {}
    return shape


def policy_shape(record: ManagedPolicy, *, full: bool) -> Response:
    """The IAM ``Policy`` shape; ``full`` adds Description and Tags (not in ListPolicies)."""
    shape: Response = {
        "PolicyName": record.name,
        "PolicyId": record.policy_id,
        "Arn": record.arn,
        "Path": record.path,
        "DefaultVersionId": record.default_version_id,
        "AttachmentCount": len(record.attached_to),
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": record.created,
        "UpdateDate": record.updated,
    }
    if full:
        if record.description is not None:
            shape["Description"] = record.description
        if record.tags:
            shape["Tags"] = [dict(tag) for tag in record.tags]
    return shape


def version_shape(record: ManagedPolicy, version: PolicyVersion, *, document: bool) -> Response:
    """The IAM ``PolicyVersion`` shape, with the ``Document`` only for GetPolicyVersion."""
    shape: Response = {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == record.default_version_id,
        "CreateDate": version.created,
    }
    if document:
        shape = {"Document": version.document, **shape}
    return shape


def page_response(key: str, items: list[Any], truncated: bool, marker: str | None) -> Response:
    """A list response: the items, ``IsTruncated`` and, when truncated, the next ``Marker``."""
    response: Response = {key: items, "IsTruncated": truncated}
    if marker is not None:
        response["Marker"] = marker
    return response
