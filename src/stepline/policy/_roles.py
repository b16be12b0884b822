"""An in-memory IAM: roles, inline role policies, managed policies with versions, attachments.

:class:`Roles` answers the IAM operations stepline serves (CreateRole … SetDefaultPolicyVersion)
with dicts shaped like the IAM model's responses, and raises AWS's errors with AWS's codes.
Managed policies and their versions come from its base class (``_managed.ManagedPolicies``);
this module adds roles, their inline policies, attachments, persistence and what the engine asks.
Documents are kept exactly as the caller sent them (the query API URL-encodes them in XML, as
AWS does) and compiled once, when stored; :meth:`Roles.policies_for` hands the engine a role's
compiled policies from a cache that any change clears.

Names of roles and managed policies are unique ignoring case, as in IAM.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from stepline.policy._aws_managed import DEFAULT_AWS_MANAGED_POLICIES, AwsManagedPolicy
from stepline.policy._document import Policy, validate_trust_policy
from stepline.policy._errors import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    NoSuchEntity,
)
from stepline.policy._managed import ManagedPolicies
from stepline.policy._records import (
    InlinePolicy,
    Response,
    Role,
    RoleIdentity,
    new_id,
    page_response,
    role_shape,
)
from stepline.policy._validation import (
    check_description,
    check_document_text,
    check_max_session_duration,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    non_whitespace_length,
    paginate,
)

__all__ = ["RoleIdentity", "Roles"]

_INLINE_POLICIES_SIZE: Final = 10240
_TRUST_POLICY_SIZE: Final = 2048
_ROLE_ARN: Final = re.compile(r"arn:([\w-]+):iam::(\d{12}):role(/(?:.*/)?)([^/]+)")


class Roles(ManagedPolicies):
    """The IAM roles and policies stepline knows, with IAM's operations.

    Args:
        account: The account id used in ARNs.
        partition: The ARN partition.
        clock: Returns "now" (timezone-aware); for ``CreateDate``/``UpdateDate``.
        aws_managed_policies: The AWS managed policies attachable by
            ``arn:aws:iam::aws:policy/<path><name>``; defaults to a small built-in catalogue.
        max_attached_policies_per_role: IAM's ``PoliciesPerRole`` quota.
    """

    def __init__(
        self,
        account: str = "123456789012",
        *,
        partition: str = "aws",
        clock: Callable[[], datetime] | None = None,
        aws_managed_policies: Iterable[AwsManagedPolicy] = DEFAULT_AWS_MANAGED_POLICIES,
        max_attached_policies_per_role: int = 10,
    ) -> None:
        super().__init__(
            account,
            partition=partition,
            clock=clock,
            aws_managed_policies=aws_managed_policies,
        )
        self._max_attached = max_attached_policies_per_role
        self._roles: dict[str, Role] = {}
        self._compiled: dict[str, tuple[Policy, ...]] = {}  # by lower-case role name

    # --- helpers -----------------------------------------------------------------------------

    def _changed(self) -> None:
        """Any change may alter a role's policies: drop every compiled set."""
        self._compiled.clear()

    def _role(self, role_name: object) -> Role:
        name = check_name(role_name, "roleName", max_length=64)
        role = self._roles.get(name.lower())
        if role is None:
            raise NoSuchEntity(
                f"The role with name {name} cannot be found. Create it with CreateRole or check "
                "the spelling (ListRoles shows the existing roles)."
            )
        return role

    # --- roles -------------------------------------------------------------------------------

    def create_role(
        self,
        role_name: str,
        assume_role_policy_document: str,
        *,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int | None = None,
        tags: Sequence[Mapping[str, object]] | None = None,
    ) -> Response:
        """CreateRole: a new role with a trust policy. Returns ``{"Role": {...}}``."""
        name = check_name(role_name, "roleName", max_length=64)
        path = check_path(path)
        text = check_document_text(assume_role_policy_document, "assumeRolePolicyDocument")
        if description is not None:
            check_description(description)
        duration = check_max_session_duration(
            3600 if max_session_duration is None else max_session_duration
        )
        tag_list = check_tags(tags)
        validate_trust_policy(text)
        if non_whitespace_length(text) > _TRUST_POLICY_SIZE:
            raise LimitExceeded(
                f"Cannot exceed quota for ACLSizePerRole: {_TRUST_POLICY_SIZE}. Shorten the "
                "trust policy (whitespace does not count)."
            )
        with self._lock:
            if name.lower() in self._roles:
                raise EntityAlreadyExists(
                    f"Role with name {name} already exists. Role names are not distinguished "
                    "by case; pick another name or delete the existing role first."
                )
            role = Role(
                name=name,
                path=path,
                arn=f"arn:{self.partition}:iam::{self.account}:role{path}{name}",
                role_id=new_id("AROA"),
                trust_policy=text,
                description=description,
                max_session_duration=duration,
                created=self._now(),
                tags=tag_list,
            )
            self._roles[name.lower()] = role
            self._changed()
            response = role_shape(role, full=False)
            if tag_list:
                response["Tags"] = [dict(tag) for tag in tag_list]
            return {"Role": response}

    def get_role(self, role_name: str) -> Response:
        """GetRole. Returns ``{"Role": {...}}`` including ``Tags`` and ``RoleLastUsed``."""
        with self._lock:
            return {"Role": role_shape(self._role(role_name), full=True)}

    def list_roles(
        self,
        *,
        path_prefix: str = "/",
        marker: str | None = None,
        max_items: int | None = None,
    ) -> Response:
        """ListRoles: roles whose path starts with ``path_prefix``, by name, paginated."""
        prefix = check_path_prefix(path_prefix)
        with self._lock:
            matching = [role for role in self._roles.values() if role.path.startswith(prefix)]
            page, truncated, next_marker = paginate(
                matching, lambda role: role.name.lower(), marker, max_items
            )
            shapes = [role_shape(role, full=False) for role in page]
        return page_response("Roles", shapes, truncated, next_marker)

    def delete_role(self, role_name: str) -> None:
        """DeleteRole: only once no inline policy remains and no managed policy is attached."""
        with self._lock:
            role = self._role(role_name)
            if role.attached:
                raise DeleteConflict(
                    "Cannot delete entity, must detach all policies first. Role "
                    f"{role.name} has {len(role.attached)} attached polic"
                    f"{'y' if len(role.attached) == 1 else 'ies'}; call DetachRolePolicy."
                )
            if role.inline:
                raise DeleteConflict(
                    "Cannot delete entity, must delete policies first. Role "
                    f"{role.name} has inline policies; call DeleteRolePolicy."
                )
            del self._roles[role.name.lower()]
            self._changed()

    # --- inline role policies ----------------------------------------------------------------

    def put_role_policy(self, role_name: str, policy_name: str, policy_document: str) -> None:
        """PutRolePolicy: add or replace an inline policy of a role."""
        name = check_name(policy_name, "policyName", max_length=128)
        with self._lock:
            role = self._role(role_name)
            text, compiled = self._parse(
                policy_document, "policyDocument", f'inline policy "{name}" of role {role.name}'
            )
            others = sum(
                non_whitespace_length(p.document)
                for key, p in role.inline.items()
                if key != name.lower()
            )
            if others + non_whitespace_length(text) > _INLINE_POLICIES_SIZE:
                raise LimitExceeded(
                    f"Maximum policy size of {_INLINE_POLICIES_SIZE} bytes exceeded for role "
                    f"{role.name}. Move statements into a managed policy and attach it instead."
                )
            role.inline[name.lower()] = InlinePolicy(name, text, compiled)
            self._changed()

    def _inline(self, role: Role, policy_name: object) -> InlinePolicy:
        name = check_name(policy_name, "policyName", max_length=128)
        inline = role.inline.get(name.lower())
        if inline is None:
            raise NoSuchEntity(
                f"The role policy with name {name} cannot be found. ListRolePolicies shows the "
                f"inline policies of role {role.name}."
            )
        return inline

    def get_role_policy(self, role_name: str, policy_name: str) -> Response:
        """GetRolePolicy: ``{"RoleName", "PolicyName", "PolicyDocument"}``."""
        with self._lock:
            role = self._role(role_name)
            inline = self._inline(role, policy_name)
            return {
                "RoleName": role.name,
                "PolicyName": inline.name,
                "PolicyDocument": inline.document,
            }

    def list_role_policies(
        self, role_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> Response:
        """ListRolePolicies: the names of a role's inline policies, paginated."""
        with self._lock:
            role = self._role(role_name)
            names = [inline.name for inline in role.inline.values()]
        page, truncated, next_marker = paginate(names, str.lower, marker, max_items)
        return page_response("PolicyNames", page, truncated, next_marker)

    def delete_role_policy(self, role_name: str, policy_name: str) -> None:
        """DeleteRolePolicy: remove an inline policy."""
        with self._lock:
            role = self._role(role_name)
            inline = self._inline(role, policy_name)
            del role.inline[inline.name.lower()]
            self._changed()

    # --- attachments -------------------------------------------------------------------------

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        """AttachRolePolicy: attach a managed policy (attaching twice changes nothing)."""
        with self._lock:
            role = self._role(role_name)
            record = self._policy(policy_arn)
            if record.arn in role.attached:
                return
            if len(role.attached) >= self._max_attached:
                raise LimitExceeded(
                    f"Cannot exceed quota for PoliciesPerRole: {self._max_attached}. Detach a "
                    f"policy from role {role.name} or combine policies."
                )
            role.attached.append(record.arn)
            record.attached_to.add(role.name.lower())
            self._changed()

    def detach_role_policy(self, role_name: str, policy_arn: str) -> None:
        """DetachRolePolicy."""
        with self._lock:
            role = self._role(role_name)
            record = self._policy(policy_arn)
            if record.arn not in role.attached:
                raise NoSuchEntity(
                    f"Policy {policy_arn} was not found. It is not attached to role {role.name} "
                    "(ListAttachedRolePolicies shows what is)."
                )
            role.attached.remove(record.arn)
            record.attached_to.discard(role.name.lower())
            self._changed()

    def list_attached_role_policies(
        self,
        role_name: str,
        *,
        path_prefix: str = "/",
        marker: str | None = None,
        max_items: int | None = None,
    ) -> Response:
        """ListAttachedRolePolicies: ``{"AttachedPolicies": [{"PolicyName", "PolicyArn"}]}``."""
        prefix = check_path_prefix(path_prefix)
        with self._lock:
            role = self._role(role_name)
            records = [self._managed_by_arn(arn) for arn in role.attached]
            matching = [r for r in records if r.path.startswith(prefix)]
            page, truncated, next_marker = paginate(
                matching, lambda r: f"{r.name.lower()}\x00{r.arn}", marker, max_items
            )
            shapes = [{"PolicyName": r.name, "PolicyArn": r.arn} for r in page]
        return page_response("AttachedPolicies", shapes, truncated, next_marker)

    # --- persistence -------------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Roles, inline and customer managed policies, attachments: JSON-ready data to save."""
        from stepline.policy._persist import export_state

        return export_state(self)

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Replace roles and customer managed policies with what :meth:`export_state` gave.

        Raises:
            ValueError: ``state`` is not such data (nothing changes then).
            MalformedPolicyDocument: A saved document no longer parses.
        """
        from stepline.policy._persist import load_state

        load_state(self, dict(state))

    # --- for the engine ----------------------------------------------------------------------

    def _role_by_arn(self, role_arn: str) -> Role | None:
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None or match.group(2) != self.account:
            return None
        role = self._roles.get(match.group(4).lower())
        if role is None or role.arn.lower() != role_arn.lower():
            return None
        return role

    def role_identity(self, role_arn: str) -> RoleIdentity | None:
        """The identity of the role with this ARN, or ``None`` when stepline does not know it."""
        with self._lock:
            role = self._role_by_arn(role_arn)
            if role is None:
                return None
            return RoleIdentity(
                name=role.name,
                arn=role.arn,
                role_id=role.role_id,
                account=self.account,
                partition=self.partition,
                tags=tuple((tag["Key"], tag["Value"]) for tag in role.tags),
            )

    def policies_for(self, role_arn: str) -> tuple[Policy, ...] | None:
        """The compiled identity-based policies of a role: inline ones, then attached ones.

        Cached until the next change to roles or policies.

        Args:
            role_arn: The execution role's ARN.

        Returns:
            The policies (possibly empty), or ``None`` when stepline does not know the role.
        """
        key = role_arn.lower()
        cached = self._compiled.get(key)
        if cached is not None:
            return cached
        with self._lock:
            role = self._role_by_arn(role_arn)
            if role is None:
                return None
            policies = tuple(inline.compiled for inline in role.inline.values()) + tuple(
                self._managed_by_arn(arn).default.compiled for arn in role.attached
            )
            self._compiled[key] = policies
            return policies
