"""CreateConnection / UpdateConnection requests, checked and turned into a :class:`ConnectionSpec`.

Every refusal is a :class:`~stepline.connections.ConnectionValidationError` whose message starts
with the field path (``AuthParameters.BasicAuthParameters.Password``,
``AuthParameters.InvocationHttpParameters.HeaderParameters[2].Key``) and says what is allowed.
Values are never quoted.

Updates are partial: a member left out keeps its current value, including secrets, which are read
from the connection's current secret mapping. A parameter list that is sent replaces the stored
list; a secret entry sent without ``Value`` keeps the stored value of the entry with the same
``Key``.

stepline extensions travel in one extra top-level member, ``Stepline``:
``{"Tls": {"CaBundlePem", "ClientCertificatePem", "ClientKeyPem"},
"Limits": {"RatePerSecond", "Burst", "MaxConcurrency"}}``. Each of ``Tls`` and ``Limits``
replaces the stored block when sent; an empty object removes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from stepline._secret import Secret
from stepline.connections._checks import (
    Check,
    check_credential,
    check_description,
    check_endpoint,
    check_header_key,
    check_header_value,
    check_kms_key,
    check_name,
    check_query_key,
    check_query_value,
    check_resource_configuration_arn,
)
from stepline.connections._extensions import parse_extensions
from stepline.connections._fields import (
    boolean,
    fail,
    join,
    required_missing,
    string,
    structure,
)
from stepline.connections._model import (
    API_KEY,
    API_KEY_SECRET,
    AUTHORIZATION_TYPES,
    BASIC,
    CLIENT_KEY_SECRET,
    CLIENT_SECRET_SECRET,
    OAUTH_CLIENT_CREDENTIALS,
    PARAMETER_LISTS,
    PASSWORD_SECRET,
    ApiKeyAuth,
    AuthParameters,
    BasicAuth,
    ConnectionRecord,
    HttpParameter,
    HttpParameters,
    OAuthClientCredentials,
    TlsSettings,
    parameter_secret_name,
)
from stepline.connections._resolved import ConnectionLimits

__all__ = [
    "CREATE_REQUEST_MEMBERS",
    "ConnectionSpec",
    "parse_create",
    "parse_name",
    "parse_update",
]

_OAUTH_METHODS = ("GET", "POST", "PUT")
_AUTH_BLOCKS = {
    BASIC: "BasicAuthParameters",
    API_KEY: "ApiKeyAuthParameters",
    OAUTH_CLIENT_CREDENTIALS: "OAuthParameters",
}
#: The members of a CreateConnection request (with stepline's ``Stepline`` block).
CREATE_REQUEST_MEMBERS: Final = frozenset(
    {
        "Name",
        "Description",
        "AuthorizationType",
        "AuthParameters",
        "InvocationConnectivityParameters",
        "KmsKeyIdentifier",
        "Stepline",
    }
)
_AUTH_MEMBERS = frozenset(
    {*_AUTH_BLOCKS.values(), "InvocationHttpParameters", "ConnectivityParameters"}
)
_MAX_PARAMETERS = 100
_KEY_CHECKS: dict[str, Check | None] = {
    "HeaderParameters": check_header_key,
    "QueryStringParameters": check_query_key,
    "BodyParameters": None,
}
_VALUE_CHECKS: dict[str, Check | None] = {
    "HeaderParameters": check_header_value,
    "QueryStringParameters": check_query_value,
    "BodyParameters": None,
}


@dataclass(slots=True)
class ConnectionSpec:
    """A checked request: the record's new configuration and its complete secret mapping.

    Attributes:
        name: ``Name``.
        description: ``Description``.
        authorization_type: ``AuthorizationType``.
        auth: The non-secret authorization parameters.
        invocation_http_parameters: ``InvocationHttpParameters`` (non-secret values only).
        connectivity_arn: ``AuthParameters.ConnectivityParameters`` resource configuration ARN.
        invocation_connectivity_arn: ``InvocationConnectivityParameters`` resource
            configuration ARN.
        kms_key_identifier: ``KmsKeyIdentifier``.
        tls: Extension: TLS settings.
        limits: Extension: pacing.
        secrets: Every secret value of the connection after this request, by secret name.
    """

    name: str
    description: str | None
    authorization_type: str
    auth: AuthParameters
    invocation_http_parameters: HttpParameters
    connectivity_arn: str | None
    invocation_connectivity_arn: str | None
    kms_key_identifier: str | None
    tls: TlsSettings | None
    limits: ConnectionLimits | None
    secrets: dict[str, Secret] = field(default_factory=dict)


def parse_name(value: object, path: str = "Name") -> str:
    """Check a connection name (``Name`` of any request)."""
    if value is None:
        required_missing(path)
    return string(value, path, check_name)


class _Parser:
    """One request's parse: the previous record and secrets (for updates) and the output secrets."""

    __slots__ = ("previous", "previous_secrets", "secrets")

    def __init__(
        self, previous: ConnectionRecord | None, previous_secrets: Mapping[str, Secret]
    ) -> None:
        self.previous = previous
        self.previous_secrets = previous_secrets
        self.secrets: dict[str, Secret] = {}

    def kept_secret(self, name: str, path: str) -> Secret:
        secret = self.previous_secrets.get(name)
        if secret is None:
            required_missing(
                path,
                ": the connection has no stored value for it (it was deauthorized, or its "
                "secret cannot be decrypted with the current key), "
                "so send it with this update",
            )
        return secret

    # -- authorization blocks -------------------------------------------------------------

    def auth(
        self, authorization_type: str, block: object, path: str, previous: AuthParameters | None
    ) -> AuthParameters:
        if authorization_type == BASIC:
            return self.basic(block, path, previous if isinstance(previous, BasicAuth) else None)
        if authorization_type == API_KEY:
            return self.api_key(block, path, previous if isinstance(previous, ApiKeyAuth) else None)
        return self.oauth(
            block, path, previous if isinstance(previous, OAuthClientCredentials) else None
        )

    def basic(self, block: object, path: str, previous: BasicAuth | None) -> BasicAuth:
        body = structure({} if block is None else block, path, frozenset({"Username", "Password"}))
        username = body.get("Username")
        if username is not None:
            user = string(username, join(path, "Username"), check_credential)
        elif previous is not None:
            user = previous.username
        else:
            required_missing(join(path, "Username"))
        self.secret_member(body, "Password", path, PASSWORD_SECRET, previous is not None)
        return BasicAuth(user)

    def api_key(self, block: object, path: str, previous: ApiKeyAuth | None) -> ApiKeyAuth:
        members = frozenset({"ApiKeyName", "ApiKeyValue"})
        body = structure({} if block is None else block, path, members)
        name = body.get("ApiKeyName")
        if name is not None:
            key_name = string(name, join(path, "ApiKeyName"), check_credential)
        elif previous is not None:
            key_name = previous.api_key_name
        else:
            required_missing(join(path, "ApiKeyName"))
        self.secret_member(body, "ApiKeyValue", path, API_KEY_SECRET, previous is not None)
        return ApiKeyAuth(key_name)

    def oauth(
        self, block: object, path: str, previous: OAuthClientCredentials | None
    ) -> OAuthClientCredentials:
        members = frozenset(
            {"ClientParameters", "AuthorizationEndpoint", "HttpMethod", "OAuthHttpParameters"}
        )
        body = structure({} if block is None else block, path, members)
        client_path = join(path, "ClientParameters")
        client_block = body.get("ClientParameters")
        if client_block is None and previous is None:
            required_missing(client_path)
        client = structure(
            {} if client_block is None else client_block,
            client_path,
            frozenset({"ClientID", "ClientSecret"}),
        )
        if client.get("ClientID") is not None:
            client_id = string(client["ClientID"], join(client_path, "ClientID"), check_credential)
        elif previous is not None:
            client_id = previous.client_id
        else:
            required_missing(join(client_path, "ClientID"))
        self.secret_member(
            client, "ClientSecret", client_path, CLIENT_SECRET_SECRET, previous is not None
        )
        endpoint_path = join(path, "AuthorizationEndpoint")
        if body.get("AuthorizationEndpoint") is not None:
            endpoint = string(body["AuthorizationEndpoint"], endpoint_path, check_endpoint)
        elif previous is not None:
            endpoint = previous.authorization_endpoint
        else:
            required_missing(endpoint_path)
        method_path = join(path, "HttpMethod")
        if body.get("HttpMethod") is not None:
            method = string(body["HttpMethod"], method_path, None)
            if method not in _OAUTH_METHODS:
                fail(method_path, "must be one of GET, POST, PUT")
        elif previous is not None:
            method = previous.http_method
        else:
            required_missing(method_path)
        parameters = self.http_parameters(
            body.get("OAuthHttpParameters"),
            join(path, "OAuthHttpParameters"),
            "oauth",
            previous.oauth_http_parameters if previous is not None else None,
        )
        return OAuthClientCredentials(client_id, endpoint, method, parameters)

    def secret_member(
        self, body: Mapping[str, object], member: str, path: str, name: str, partial: bool
    ) -> None:
        member_path = join(path, member)
        value = body.get(member)
        if value is not None:
            self.secrets[name] = Secret(
                string(value, member_path, check_credential, sensitive=True)
            )
        elif partial:
            self.secrets[name] = self.kept_secret(name, member_path)
        else:
            required_missing(member_path)

    # -- parameter lists --------------------------------------------------------------------

    def http_parameters(
        self, value: object, path: str, scope: str, previous: HttpParameters | None
    ) -> HttpParameters:
        body = structure({} if value is None else value, path, frozenset(PARAMETER_LISTS))
        lists: list[tuple[HttpParameter, ...]] = []
        for list_name in PARAMETER_LISTS:
            list_path = join(path, list_name)
            sent = body.get(list_name)
            old = previous.by_list(list_name) if previous is not None else ()
            if sent is None:
                for index, parameter in enumerate(old):
                    if parameter.is_value_secret:
                        secret_name = parameter_secret_name(scope, list_name, index)
                        self.secrets[secret_name] = self.kept_secret(
                            secret_name, f"{list_path}[{index}].Value"
                        )
                lists.append(old)
            else:
                lists.append(self.parameter_list(sent, list_path, scope, list_name, old))
        return HttpParameters(*lists)

    def parameter_list(
        self,
        value: object,
        path: str,
        scope: str,
        list_name: str,
        old: tuple[HttpParameter, ...],
    ) -> tuple[HttpParameter, ...]:
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            fail(path, "must be a list of {Key, Value, IsValueSecret} objects")
        if len(value) > _MAX_PARAMETERS:
            fail(path, f"must have at most {_MAX_PARAMETERS} entries")
        members = frozenset({"Key", "Value", "IsValueSecret"})
        parsed: list[HttpParameter] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            entry = structure(item, item_path, members)
            raw_key = entry.get("Key")
            if raw_key is None:
                required_missing(join(item_path, "Key"))
            key = string(raw_key, join(item_path, "Key"), _KEY_CHECKS[list_name])
            if list_name == "BodyParameters" and not key:
                fail(join(item_path, "Key"), "must not be empty")
            flag = entry.get("IsValueSecret")
            # AWS's model has no default; the safe reading is "secret unless said otherwise".
            is_secret = True if flag is None else boolean(flag, join(item_path, "IsValueSecret"))
            value_path = join(item_path, "Value")
            raw_value = entry.get("Value")
            if raw_value is None:
                kept = self.kept_parameter(scope, list_name, key, old) if is_secret else None
                if kept is None:
                    required_missing(value_path)
                self.secrets[parameter_secret_name(scope, list_name, index)] = kept
                parsed.append(HttpParameter(key, None, True))
                continue
            text = string(raw_value, value_path, _VALUE_CHECKS[list_name], sensitive=is_secret)
            if is_secret:
                self.secrets[parameter_secret_name(scope, list_name, index)] = Secret(text)
                parsed.append(HttpParameter(key, None, True))
            else:
                parsed.append(HttpParameter(key, text, False))
        return tuple(parsed)

    def kept_parameter(
        self, scope: str, list_name: str, key: str, old: tuple[HttpParameter, ...]
    ) -> Secret | None:
        for index, parameter in enumerate(old):
            if parameter.key == key and parameter.is_value_secret:
                return self.previous_secrets.get(parameter_secret_name(scope, list_name, index))
        return None

    # -- private connectivity ----------------------------------------------------------------

    def connectivity(self, value: object, path: str) -> str | None:
        body = structure(value, path, frozenset({"ResourceParameters"}))
        resource_path = join(path, "ResourceParameters")
        if body.get("ResourceParameters") is None:
            required_missing(resource_path)
        resource = structure(
            body["ResourceParameters"], resource_path, frozenset({"ResourceConfigurationArn"})
        )
        arn_path = join(resource_path, "ResourceConfigurationArn")
        if resource.get("ResourceConfigurationArn") is None:
            required_missing(arn_path)
        arn = string(
            resource["ResourceConfigurationArn"], arn_path, check_resource_configuration_arn
        )
        return arn or None


def _authorization_type(value: object) -> str:
    path = "AuthorizationType"
    text = string(value, path, None)
    if text not in AUTHORIZATION_TYPES:
        fail(path, "must be one of BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY")
    return text


def _auth_block(
    parameters: Mapping[str, object], authorization_type: str, *, required: bool
) -> object:
    expected = _AUTH_BLOCKS[authorization_type]
    for other in _AUTH_BLOCKS.values():
        if other != expected and parameters.get(other) is not None:
            fail(
                f"AuthParameters.{other}",
                f"is not allowed when AuthorizationType is {authorization_type}; "
                f"send AuthParameters.{expected} instead",
            )
    block = parameters.get(expected)
    if block is None and required:
        required_missing(
            f"AuthParameters.{expected}", f" when AuthorizationType is {authorization_type}"
        )
    return block


def _optional_text(request: Mapping[str, object], member: str, check: Check) -> str | None:
    value = request.get(member)
    return None if value is None else string(value, member, check) or None


def parse_create(request: Mapping[str, object]) -> ConnectionSpec:
    """Check a CreateConnection request.

    Raises:
        ConnectionValidationError: A field is missing or invalid; the message names it.
    """
    body = structure(request, "", CREATE_REQUEST_MEMBERS)
    name = parse_name(body.get("Name"))
    if body.get("AuthorizationType") is None:
        required_missing("AuthorizationType")
    authorization_type = _authorization_type(body["AuthorizationType"])
    if body.get("AuthParameters") is None:
        required_missing("AuthParameters")
    parameters = structure(body["AuthParameters"], "AuthParameters", _AUTH_MEMBERS)
    block = _auth_block(parameters, authorization_type, required=True)
    parser = _Parser(None, {})
    auth = parser.auth(
        authorization_type, block, f"AuthParameters.{_AUTH_BLOCKS[authorization_type]}", None
    )
    invocation = parser.http_parameters(
        parameters.get("InvocationHttpParameters"),
        "AuthParameters.InvocationHttpParameters",
        "invocation",
        None,
    )
    connectivity = (
        None
        if parameters.get("ConnectivityParameters") is None
        else parser.connectivity(
            parameters["ConnectivityParameters"], "AuthParameters.ConnectivityParameters"
        )
    )
    invocation_connectivity = (
        None
        if body.get("InvocationConnectivityParameters") is None
        else parser.connectivity(
            body["InvocationConnectivityParameters"], "InvocationConnectivityParameters"
        )
    )
    tls, limits, _, _ = parse_extensions(body.get("Stepline"), parser.secrets)
    return ConnectionSpec(
        name=name,
        description=_optional_text(body, "Description", check_description),
        authorization_type=authorization_type,
        auth=auth,
        invocation_http_parameters=invocation,
        connectivity_arn=connectivity,
        invocation_connectivity_arn=invocation_connectivity,
        kms_key_identifier=_optional_text(body, "KmsKeyIdentifier", check_kms_key),
        tls=tls,
        limits=limits,
        secrets=parser.secrets,
    )


def parse_update(
    request: Mapping[str, object],
    current: ConnectionRecord,
    current_secrets: Mapping[str, Secret],
) -> ConnectionSpec:
    """Check an UpdateConnection request and merge it into the current configuration.

    Args:
        request: The UpdateConnection request.
        current: The connection as stored.
        current_secrets: Its current secret mapping (empty after a deauthorization).

    Raises:
        ConnectionValidationError: A field is missing or invalid; the message names it.
    """
    body = structure(request, "", CREATE_REQUEST_MEMBERS)
    name = parse_name(body.get("Name"))
    authorization_type = (
        current.authorization_type
        if body.get("AuthorizationType") is None
        else _authorization_type(body["AuthorizationType"])
    )
    type_changed = authorization_type != current.authorization_type
    parameters = structure(
        {} if body.get("AuthParameters") is None else body["AuthParameters"],
        "AuthParameters",
        _AUTH_MEMBERS,
    )
    block = _auth_block(parameters, authorization_type, required=type_changed)
    parser = _Parser(current, current_secrets)
    auth = parser.auth(
        authorization_type,
        block,
        f"AuthParameters.{_AUTH_BLOCKS[authorization_type]}",
        None if type_changed else current.auth,
    )
    invocation = parser.http_parameters(
        parameters.get("InvocationHttpParameters"),
        "AuthParameters.InvocationHttpParameters",
        "invocation",
        current.invocation_http_parameters,
    )
    connectivity = (
        (
            current.connectivity_parameters.resource_configuration_arn
            if current.connectivity_parameters
            else None
        )
        if parameters.get("ConnectivityParameters") is None
        else parser.connectivity(
            parameters["ConnectivityParameters"], "AuthParameters.ConnectivityParameters"
        )
    )
    invocation_connectivity = (
        (
            current.invocation_connectivity_parameters.resource_configuration_arn
            if current.invocation_connectivity_parameters
            else None
        )
        if body.get("InvocationConnectivityParameters") is None
        else parser.connectivity(
            body["InvocationConnectivityParameters"], "InvocationConnectivityParameters"
        )
    )
    tls, limits, tls_sent, limits_sent = parse_extensions(body.get("Stepline"), parser.secrets)
    if not tls_sent:
        tls = current.tls
        if tls is not None and tls.has_client_key:
            parser.secrets[CLIENT_KEY_SECRET] = parser.kept_secret(
                CLIENT_KEY_SECRET, "Stepline.Tls.ClientKeyPem"
            )
    if not limits_sent:
        limits = current.limits
    description = (
        current.description
        if body.get("Description") is None
        else _optional_text(body, "Description", check_description)
    )
    kms = (
        current.kms_key_identifier
        if body.get("KmsKeyIdentifier") is None
        else _optional_text(body, "KmsKeyIdentifier", check_kms_key)
    )
    return ConnectionSpec(
        name=name,
        description=description,
        authorization_type=authorization_type,
        auth=auth,
        invocation_http_parameters=invocation,
        connectivity_arn=connectivity,
        invocation_connectivity_arn=invocation_connectivity,
        kms_key_identifier=kms,
        tls=tls,
        limits=limits,
        secrets=parser.secrets,
    )
