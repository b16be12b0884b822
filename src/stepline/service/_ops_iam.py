"""The ``iam`` operations: execution roles and their policies over the service's :class:`Roles`.

Roles, inline role policies, customer managed policies with versions, and attachments, answered
in the IAM query protocol's XML. As AWS does, policy documents go out URL-encoded
(``AssumeRolePolicyDocument``, ``PolicyDocument``, ``Document``); boto3 and the AWS CLI decode
them back into objects. Errors carry IAM's codes and HTTP statuses. Every change is saved to
the store before the response goes out (see :mod:`stepline.service._shared_records`), so
every process of a deployment checks the same roles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from stepline.api import Handler, RequestContext, ServiceError
from stepline.policy import IamError, Roles
from stepline.service._context import ServiceContext
from stepline.service._shared_records import records_of
from stepline.store import StoreConflict

__all__ = ["handlers"]

Request = dict[str, Any]
Operation = Callable[[Roles, Request], dict[str, Any] | None]


def _encoded(document: str) -> str:
    """A policy document as IAM returns it: percent-encoded (RFC 3986 unreserved kept)."""
    return quote(document, safe="")


def _role_out(response: dict[str, Any]) -> dict[str, Any]:
    role = dict(response["Role"])
    role["AssumeRolePolicyDocument"] = _encoded(role["AssumeRolePolicyDocument"])
    return {"Role": role}


def _options(request: Request, **names: str) -> dict[str, Any]:
    """Keyword arguments for the members of ``request`` that are present (model → Python)."""
    return {python: request[member] for python, member in names.items() if member in request}


def _page(request: Request) -> dict[str, Any]:
    return _options(request, marker="Marker", max_items="MaxItems")


def _create_role(roles: Roles, request: Request) -> dict[str, Any]:
    if "PermissionsBoundary" in request:
        raise ServiceError(
            "InvalidInput",
            "stepline does not support permissions boundaries, so it cannot limit role "
            f"{request['RoleName']} by one; create the role without PermissionsBoundary and "
            "give it only the policies it needs.",
            http_status=400,
        )
    return _role_out(
        roles.create_role(
            request["RoleName"],
            request["AssumeRolePolicyDocument"],
            **_options(
                request,
                path="Path",
                description="Description",
                max_session_duration="MaxSessionDuration",
                tags="Tags",
            ),
        )
    )


def _list_roles(roles: Roles, request: Request) -> dict[str, Any]:
    response = roles.list_roles(**_options(request, path_prefix="PathPrefix"), **_page(request))
    response["Roles"] = [_role_out({"Role": role})["Role"] for role in response["Roles"]]
    return response


def _get_role_policy(roles: Roles, request: Request) -> dict[str, Any]:
    response = roles.get_role_policy(request["RoleName"], request["PolicyName"])
    response["PolicyDocument"] = _encoded(response["PolicyDocument"])
    return response


def _get_policy_version(roles: Roles, request: Request) -> dict[str, Any]:
    response = roles.get_policy_version(request["PolicyArn"], request["VersionId"])
    version = dict(response["PolicyVersion"])
    version["Document"] = _encoded(version["Document"])
    return {"PolicyVersion": version}


# Reads: no change to save.
_READS: dict[str, Operation] = {
    "GetRole": lambda roles, r: _role_out(roles.get_role(r["RoleName"])),
    "ListRoles": _list_roles,
    "GetRolePolicy": _get_role_policy,
    "ListRolePolicies": lambda roles, r: roles.list_role_policies(r["RoleName"], **_page(r)),
    "GetPolicy": lambda roles, r: roles.get_policy(r["PolicyArn"]),
    "ListPolicies": lambda roles, r: roles.list_policies(
        **_options(
            r,
            scope="Scope",
            only_attached="OnlyAttached",
            path_prefix="PathPrefix",
            policy_usage_filter="PolicyUsageFilter",
        ),
        **_page(r),
    ),
    "ListAttachedRolePolicies": lambda roles, r: roles.list_attached_role_policies(
        r["RoleName"], **_options(r, path_prefix="PathPrefix"), **_page(r)
    ),
    "GetPolicyVersion": _get_policy_version,
    "ListPolicyVersions": lambda roles, r: roles.list_policy_versions(r["PolicyArn"], **_page(r)),
}

# Changes: saved before the response goes out.
_CHANGES: dict[str, Operation] = {
    "CreateRole": _create_role,
    "DeleteRole": lambda roles, r: roles.delete_role(r["RoleName"]),
    "PutRolePolicy": lambda roles, r: roles.put_role_policy(
        r["RoleName"], r["PolicyName"], r["PolicyDocument"]
    ),
    "DeleteRolePolicy": lambda roles, r: roles.delete_role_policy(r["RoleName"], r["PolicyName"]),
    "CreatePolicy": lambda roles, r: roles.create_policy(
        r["PolicyName"],
        r["PolicyDocument"],
        **_options(r, path="Path", description="Description", tags="Tags"),
    ),
    "DeletePolicy": lambda roles, r: roles.delete_policy(r["PolicyArn"]),
    "AttachRolePolicy": lambda roles, r: roles.attach_role_policy(r["RoleName"], r["PolicyArn"]),
    "DetachRolePolicy": lambda roles, r: roles.detach_role_policy(r["RoleName"], r["PolicyArn"]),
    "CreatePolicyVersion": lambda roles, r: roles.create_policy_version(
        r["PolicyArn"], r["PolicyDocument"], set_as_default=bool(r.get("SetAsDefault", False))
    ),
    "DeletePolicyVersion": lambda roles, r: roles.delete_policy_version(
        r["PolicyArn"], r["VersionId"]
    ),
    "SetDefaultPolicyVersion": lambda roles, r: roles.set_default_policy_version(
        r["PolicyArn"], r["VersionId"]
    ),
}


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The IAM operations, by ``iam:<Operation>`` key."""
    roles = context.roles
    records = records_of(context)

    def handler(operation: Operation, *, changes: bool) -> Handler:
        async def handle(request: Request, _context: RequestContext) -> dict[str, Any] | None:
            try:
                if changes:
                    return await records.change_iam(lambda: operation(roles, request))
                await records.refresh_iam()
                try:
                    return operation(roles, request)
                except IamError as error:
                    if error.code != "NoSuchEntity":
                        raise
                # Perhaps created through another process a moment ago: look at once.
                await records.refresh_iam(force=True)
                return operation(roles, request)
            except IamError as error:
                raise ServiceError(
                    error.code,
                    error.message,
                    http_status=error.http_status,
                    sender_fault=error.sender_fault,
                ) from None
            except StoreConflict:
                raise ServiceError(
                    "ConcurrentModification",
                    "Another request changed the IAM roles or policies at the same time, "
                    "again and again; retry the request.",
                    http_status=409,
                ) from None

        return handle

    table = {f"iam:{name}": handler(op, changes=False) for name, op in _READS.items()}
    table.update({f"iam:{name}": handler(op, changes=True) for name, op in _CHANGES.items()})
    return table
