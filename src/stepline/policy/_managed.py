"""Managed policies: customer managed ones with their versions, and the AWS managed catalogue.

:class:`ManagedPolicies` is the policy half of the in-memory IAM (CreatePolicy …
SetDefaultPolicyVersion), with responses shaped like the IAM model's and AWS's errors. It owns
the state both halves share (the lock, the clock, the ARNs' account and partition);
:class:`~stepline.policy.Roles` builds on it with roles, inline policies and attachments.

Names of managed policies are unique ignoring case, as in IAM.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from stepline.policy._aws_managed import AwsManagedPolicy
from stepline.policy._document import Policy, parse_policy
from stepline.policy._errors import (
    DeleteConflict,
    EntityAlreadyExists,
    IamError,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
)
from stepline.policy._records import (
    ManagedPolicy,
    PolicyVersion,
    Response,
    new_id,
    page_response,
    policy_shape,
    stable_id,
    version_shape,
)
from stepline.policy._validation import (
    check_description,
    check_document_text,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    check_version_id,
    non_whitespace_length,
    paginate,
)

__all__ = ["ManagedPolicies"]

_AWS_MANAGED_CREATED: Final = datetime(2015, 2, 6, 18, 39, 46, tzinfo=UTC)
_MAX_VERSIONS: Final = 5
_MANAGED_POLICY_SIZE: Final = 6144
_POLICY_ARN: Final = re.compile(r"arn:([\w-]+):iam::(\d{12}|aws):policy(/(?:.*/)?)([^/]+)")


class ManagedPolicies:
    """Customer and AWS managed policies with IAM's operations; the base of ``Roles``.

    Args:
        account: The account id used in ARNs.
        partition: The ARN partition.
        clock: Returns "now" (timezone-aware); for ``CreateDate``/``UpdateDate``.
        aws_managed_policies: The AWS managed policies attachable by
            ``arn:aws:iam::aws:policy/<path><name>``.
    """

    def __init__(
        self,
        account: str,
        *,
        partition: str,
        clock: Callable[[], datetime] | None,
        aws_managed_policies: Iterable[AwsManagedPolicy],
    ) -> None:
        if not re.fullmatch(r"\d{12}", account):
            raise ValueError(f"account must be 12 digits, got {account!r}")
        self.account = account
        self.partition = partition
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._policies: dict[str, ManagedPolicy] = {}  # customer managed, by lower-case name
        self._aws: dict[str, ManagedPolicy] = {}  # AWS managed, by ARN
        for spec in aws_managed_policies:
            self._add_aws_managed(spec)

    # --- helpers -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def _changed(self) -> None:
        """Hook: a change may alter what roles are evaluated with (here, a new default version).

        ``Roles`` drops its compiled policies; nothing is cached at this level.
        """

    def _add_aws_managed(self, spec: AwsManagedPolicy) -> None:
        arn = f"arn:{self.partition}:iam::aws:policy{spec.path}{spec.name}"
        compiled = parse_policy(spec.document, name=f"{arn} (v1)")
        record = ManagedPolicy(
            name=spec.name,
            path=spec.path,
            arn=arn,
            policy_id=stable_id("ANPA", arn),
            description=spec.description or None,
            created=_AWS_MANAGED_CREATED,
            updated=_AWS_MANAGED_CREATED,
            tags=[],
            aws_managed=True,
            versions={"v1": PolicyVersion("v1", spec.document, _AWS_MANAGED_CREATED, compiled)},
            next_version=2,
        )
        self._aws[arn] = record

    def _policy(self, policy_arn: object) -> ManagedPolicy:
        if not isinstance(policy_arn, str) or (match := _POLICY_ARN.fullmatch(policy_arn)) is None:
            raise InvalidInput(
                f"ARN {policy_arn} is not valid. A policy ARN looks like "
                f"arn:{self.partition}:iam::{self.account}:policy/MyPolicy."
            )
        record: ManagedPolicy | None
        if match.group(2) == "aws":
            record = self._aws.get(policy_arn)
        else:
            record = self._policies.get(match.group(4).lower())
            if record is not None and record.arn.lower() != policy_arn.lower():
                record = None
        if record is None:
            raise NoSuchEntity(
                f"Policy {policy_arn} does not exist or is not attachable. Create it with "
                "CreatePolicy (ListPolicies shows the existing ones)."
            )
        return record

    def _version(self, record: ManagedPolicy, version_id: object) -> PolicyVersion:
        version_id = check_version_id(version_id)
        version = record.versions.get(version_id)
        if version is None:
            raise NoSuchEntity(
                f"Policy {record.arn} version {version_id} does not exist or is not attachable. "
                "ListPolicyVersions shows its versions."
            )
        return version

    @staticmethod
    def _refuse_aws_managed(record: ManagedPolicy, action: str) -> None:
        if record.aws_managed:
            raise IamError(
                f"{action} is not allowed on {record.arn}: AWS managed policies cannot be "
                "changed or deleted. Create a customer managed policy instead.",
                code="AccessDenied",
            )

    def _parse(self, document: object, field_name: str, label: str) -> tuple[str, Policy]:
        text = check_document_text(document, field_name)
        return text, parse_policy(text, name=label)

    def _managed_by_arn(self, arn: str) -> ManagedPolicy:
        if arn in self._aws:
            return self._aws[arn]
        return self._policy(arn)

    # --- managed policies --------------------------------------------------------------------

    def create_policy(
        self,
        policy_name: str,
        policy_document: str,
        *,
        path: str = "/",
        description: str | None = None,
        tags: Sequence[Mapping[str, object]] | None = None,
    ) -> Response:
        """CreatePolicy: a customer managed policy with version ``v1``. Returns ``{"Policy"}``."""
        name = check_name(policy_name, "policyName", max_length=128)
        path = check_path(path, "path")
        if description is not None:
            check_description(description)
        tag_list = check_tags(tags)
        arn = f"arn:{self.partition}:iam::{self.account}:policy{path}{name}"
        text, compiled = self._parse(policy_document, "policyDocument", f"{arn} (v1)")
        self._check_managed_size(text)
        with self._lock:
            if name.lower() in self._policies:
                raise EntityAlreadyExists(
                    f"A policy called {name} already exists. Duplicate names are not allowed; "
                    "add a version to it with CreatePolicyVersion or pick another name."
                )
            now = self._now()
            record = ManagedPolicy(
                name=name,
                path=path,
                arn=arn,
                policy_id=new_id("ANPA"),
                description=description,
                created=now,
                updated=now,
                tags=tag_list,
                aws_managed=False,
                versions={"v1": PolicyVersion("v1", text, now, compiled)},
                next_version=2,
            )
            self._policies[name.lower()] = record
            return {"Policy": policy_shape(record, full=True)}

    @staticmethod
    def _check_managed_size(text: str) -> None:
        if non_whitespace_length(text) > _MANAGED_POLICY_SIZE:
            raise LimitExceeded(
                f"Cannot exceed quota for PolicySize: {_MANAGED_POLICY_SIZE}. Split the "
                "statements over several managed policies (whitespace does not count)."
            )

    def get_policy(self, policy_arn: str) -> Response:
        """GetPolicy: ``{"Policy": {...}}``, customer or AWS managed."""
        with self._lock:
            return {"Policy": policy_shape(self._policy(policy_arn), full=True)}

    def list_policies(
        self,
        *,
        scope: str = "All",
        only_attached: bool = False,
        path_prefix: str = "/",
        policy_usage_filter: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> Response:
        """ListPolicies: filter by ``scope`` (``All``/``AWS``/``Local``), attachment and path."""
        if scope not in ("All", "AWS", "Local"):
            raise InvalidInput(f"Scope {scope!r} is not valid; use All, AWS or Local.")
        if policy_usage_filter not in (None, "PermissionsPolicy", "PermissionsBoundary"):
            raise InvalidInput(
                f"PolicyUsageFilter {policy_usage_filter!r} is not valid; use "
                "PermissionsPolicy or PermissionsBoundary."
            )
        prefix = check_path_prefix(path_prefix)
        with self._lock:
            candidates: list[ManagedPolicy] = []
            if scope in ("All", "Local"):
                candidates.extend(self._policies.values())
            if scope in ("All", "AWS"):
                candidates.extend(self._aws.values())
            matching = [
                record
                for record in candidates
                if record.path.startswith(prefix)
                and (not only_attached or record.attached_to)
                # stepline has no permissions boundaries: nothing is used as one.
                and policy_usage_filter != "PermissionsBoundary"
            ]
            page, truncated, next_marker = paginate(
                matching, lambda r: f"{r.name.lower()}\x00{r.arn}", marker, max_items
            )
            shapes = [policy_shape(record, full=False) for record in page]
        return page_response("Policies", shapes, truncated, next_marker)

    def delete_policy(self, policy_arn: str) -> None:
        """DeletePolicy: only when detached everywhere and only the default version is left."""
        with self._lock:
            record = self._policy(policy_arn)
            self._refuse_aws_managed(record, "DeletePolicy")
            if record.attached_to:
                raise DeleteConflict(
                    "Cannot delete a policy attached to entities. Detach it first "
                    f"(it is attached to {len(record.attached_to)} role(s))."
                )
            if len(record.versions) > 1:
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must "
                    "delete the policy's versions (DeletePolicyVersion). The default version is "
                    "deleted with the policy."
                )
            del self._policies[record.name.lower()]

    # --- policy versions ---------------------------------------------------------------------

    def create_policy_version(
        self, policy_arn: str, policy_document: str, *, set_as_default: bool = False
    ) -> Response:
        """CreatePolicyVersion: at most five versions. Returns ``{"PolicyVersion": {...}}``."""
        with self._lock:
            record = self._policy(policy_arn)
            self._refuse_aws_managed(record, "CreatePolicyVersion")
            version_id = f"v{record.next_version}"
            text, compiled = self._parse(
                policy_document, "policyDocument", f"{record.arn} ({version_id})"
            )
            self._check_managed_size(text)
            if len(record.versions) >= _MAX_VERSIONS:
                raise LimitExceeded(
                    f"A managed policy can have up to {_MAX_VERSIONS} versions. Before you "
                    "create a new version, you must delete an existing version "
                    "(DeletePolicyVersion)."
                )
            now = self._now()
            version = PolicyVersion(version_id, text, now, compiled)
            record.versions[version_id] = version
            record.next_version += 1
            record.updated = now
            if set_as_default:
                record.default_version_id = version_id
                self._changed()
            return {"PolicyVersion": version_shape(record, version, document=False)}

    def get_policy_version(self, policy_arn: str, version_id: str) -> Response:
        """GetPolicyVersion: ``{"PolicyVersion": {"Document", "VersionId", ...}}``."""
        with self._lock:
            record = self._policy(policy_arn)
            version = self._version(record, version_id)
            return {"PolicyVersion": version_shape(record, version, document=True)}

    def list_policy_versions(
        self, policy_arn: str, *, marker: str | None = None, max_items: int | None = None
    ) -> Response:
        """ListPolicyVersions: newest first, without documents, paginated."""
        with self._lock:
            record = self._policy(policy_arn)
            versions = list(record.versions.values())
            # Newest first: order by descending version number, zero-padded to sort as text.
            page, truncated, next_marker = paginate(
                versions,
                lambda v: f"{10**9 - int(v.version_id[1:].split('.')[0]):010d}",
                marker,
                max_items,
            )
            shapes = [version_shape(record, v, document=False) for v in page]
        return page_response("Versions", shapes, truncated, next_marker)

    def delete_policy_version(self, policy_arn: str, version_id: str) -> None:
        """DeletePolicyVersion: any version but the default one."""
        with self._lock:
            record = self._policy(policy_arn)
            self._refuse_aws_managed(record, "DeletePolicyVersion")
            version = self._version(record, version_id)
            if version.version_id == record.default_version_id:
                raise DeleteConflict(
                    "Cannot delete the default version of a policy. Make another version the "
                    "default (SetDefaultPolicyVersion) first, or delete the whole policy."
                )
            del record.versions[version.version_id]

    def set_default_policy_version(self, policy_arn: str, version_id: str) -> None:
        """SetDefaultPolicyVersion: the version attached roles are evaluated with."""
        with self._lock:
            record = self._policy(policy_arn)
            self._refuse_aws_managed(record, "SetDefaultPolicyVersion")
            version = self._version(record, version_id)
            record.default_version_id = version.version_id
            record.updated = self._now()
            self._changed()
