"""Records → AWS response shapes (DescribeConnection, ListConnections entries, mutations).

Responses carry no secret by construction: records hold none. Password, ApiKeyValue and
ClientSecret have no member in AWS's response shapes; parameter entries flagged
``IsValueSecret`` come back with ``Key`` and ``IsValueSecret`` only. Timestamps are timezone-aware
UTC :class:`~datetime.datetime` values, as boto3 returns them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stepline.connections._model import (
    PARAMETER_LISTS,
    ApiKeyAuth,
    BasicAuth,
    ConnectionRecord,
    HttpParameters,
    OAuthClientCredentials,
    PrivateResource,
)

__all__ = [
    "describe_shape",
    "http_parameters_shape",
    "mutation_shape",
    "summary_shape",
    "timestamp",
]


def timestamp(seconds: float) -> datetime:
    """Clock seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def http_parameters_shape(parameters: HttpParameters) -> dict[str, Any]:
    """A ``ConnectionHttpParameters`` structure; secret entries without ``Value``."""
    shape: dict[str, Any] = {}
    for list_name in PARAMETER_LISTS:
        entries = parameters.by_list(list_name)
        if entries:
            shape[list_name] = [
                {"Key": p.key, "IsValueSecret": True}
                if p.is_value_secret
                else {"Key": p.key, "Value": p.value, "IsValueSecret": False}
                for p in entries
            ]
    return shape


def _private(resource: PrivateResource) -> dict[str, Any]:
    return {
        "ResourceParameters": {
            "ResourceConfigurationArn": resource.resource_configuration_arn,
            "ResourceAssociationArn": resource.resource_association_arn,
        }
    }


def _auth_shape(record: ConnectionRecord) -> dict[str, Any]:
    auth = record.auth
    shape: dict[str, Any] = {}
    if isinstance(auth, BasicAuth):
        shape["BasicAuthParameters"] = {"Username": auth.username}
    elif isinstance(auth, ApiKeyAuth):
        shape["ApiKeyAuthParameters"] = {"ApiKeyName": auth.api_key_name}
    elif isinstance(auth, OAuthClientCredentials):
        oauth: dict[str, Any] = {
            "ClientParameters": {"ClientID": auth.client_id},
            "AuthorizationEndpoint": auth.authorization_endpoint,
            "HttpMethod": auth.http_method,
        }
        if auth.oauth_http_parameters:
            oauth["OAuthHttpParameters"] = http_parameters_shape(auth.oauth_http_parameters)
        shape["OAuthParameters"] = oauth
    if record.invocation_http_parameters:
        shape["InvocationHttpParameters"] = http_parameters_shape(record.invocation_http_parameters)
    if record.connectivity_parameters is not None:
        shape["ConnectivityParameters"] = _private(record.connectivity_parameters)
    return shape


def _extension_shape(record: ConnectionRecord) -> dict[str, Any] | None:
    extension: dict[str, Any] = {}
    if record.tls is not None:
        tls: dict[str, Any] = {}
        if record.tls.ca_bundle_pem is not None:
            tls["CaBundlePem"] = record.tls.ca_bundle_pem
        if record.tls.client_cert_pem is not None:
            tls["ClientCertificatePem"] = record.tls.client_cert_pem
        tls["HasClientKey"] = record.tls.has_client_key
        extension["Tls"] = tls
    if record.limits is not None:
        limits: dict[str, Any] = {}
        if record.limits.rate_per_second is not None:
            limits["RatePerSecond"] = record.limits.rate_per_second
        if record.limits.burst is not None:
            limits["Burst"] = record.limits.burst
        if record.limits.max_concurrency is not None:
            limits["MaxConcurrency"] = record.limits.max_concurrency
        extension["Limits"] = limits
    return extension or None


def describe_shape(record: ConnectionRecord) -> dict[str, Any]:
    """The DescribeConnection response (plus the ``Stepline`` extension block, when set)."""
    shape: dict[str, Any] = {"ConnectionArn": record.arn, "Name": record.name}
    if record.description is not None:
        shape["Description"] = record.description
    if record.invocation_connectivity_parameters is not None:
        shape["InvocationConnectivityParameters"] = _private(
            record.invocation_connectivity_parameters
        )
    shape["ConnectionState"] = record.state
    if record.state_reason:
        shape["StateReason"] = record.state_reason
    shape["AuthorizationType"] = record.authorization_type
    shape["SecretArn"] = record.secret_arn
    if record.kms_key_identifier is not None:
        shape["KmsKeyIdentifier"] = record.kms_key_identifier
    shape["AuthParameters"] = _auth_shape(record)
    shape["CreationTime"] = timestamp(record.creation_time)
    shape["LastModifiedTime"] = timestamp(record.last_modified_time)
    if record.last_authorized_time is not None:
        shape["LastAuthorizedTime"] = timestamp(record.last_authorized_time)
    extension = _extension_shape(record)
    if extension is not None:
        shape["Stepline"] = extension
    return shape


def summary_shape(record: ConnectionRecord) -> dict[str, Any]:
    """One ``Connection`` entry of a ListConnections response."""
    shape: dict[str, Any] = {
        "ConnectionArn": record.arn,
        "Name": record.name,
        "ConnectionState": record.state,
    }
    if record.state_reason:
        shape["StateReason"] = record.state_reason
    shape["AuthorizationType"] = record.authorization_type
    shape["CreationTime"] = timestamp(record.creation_time)
    shape["LastModifiedTime"] = timestamp(record.last_modified_time)
    if record.last_authorized_time is not None:
        shape["LastAuthorizedTime"] = timestamp(record.last_authorized_time)
    return shape


def mutation_shape(
    record: ConnectionRecord, *, state: str | None = None, authorized_time: bool = True
) -> dict[str, Any]:
    """The response of Create/Update/Delete/DeauthorizeConnection.

    Args:
        record: The connection.
        state: The state to report, when it differs from the record's (``DELETING``…).
        authorized_time: Include ``LastAuthorizedTime`` (CreateConnection's shape has none).
    """
    shape: dict[str, Any] = {
        "ConnectionArn": record.arn,
        "ConnectionState": state or record.state,
        "CreationTime": timestamp(record.creation_time),
        "LastModifiedTime": timestamp(record.last_modified_time),
    }
    if authorized_time and record.last_authorized_time is not None:
        shape["LastAuthorizedTime"] = timestamp(record.last_authorized_time)
    return shape
