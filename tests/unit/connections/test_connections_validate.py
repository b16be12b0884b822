"""Create/Update validation: each constraint, named by its field path, never echoing a value."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepline.connections import Connections, ConnectionValidationError
from stepline.connections._checks import check_credential, check_header_value

SECRET = "s3cr3t-VALUE:with-colon"


def basic(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "Name": "shop",
        "AuthorizationType": "BASIC",
        "AuthParameters": {"BasicAuthParameters": {"Username": "user", "Password": "pw"}},
    }
    request.update(overrides)
    return request


def oauth() -> dict[str, Any]:
    return {
        "Name": "idp",
        "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
        "AuthParameters": {
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "client", "ClientSecret": "secret"},
                "AuthorizationEndpoint": "https://idp.example.com/oauth/token",
                "HttpMethod": "POST",
            }
        },
    }


def refused(request: dict[str, Any], path: str) -> str:
    with pytest.raises(ConnectionValidationError) as caught:
        Connections().create(request)
    message = caught.value.message
    assert caught.value.code == "ValidationException"
    assert message.startswith(path + " "), message
    assert SECRET not in message and SECRET not in repr(caught.value)
    return message


def with_auth(request: dict[str, Any], block: str, member: str, value: object) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    changed["AuthParameters"][block][member] = value
    return changed


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/no", "colon:no"])
def test_name_pattern_and_length(name: str) -> None:
    assert "1 to 64 characters" in refused(basic(Name=name), "Name")


def test_required_top_level_members() -> None:
    for member in ("Name", "AuthorizationType", "AuthParameters"):
        request = basic()
        del request[member]
        assert "is required" in refused(request, member)


def test_authorization_type_enum() -> None:
    message = refused(basic(AuthorizationType="DIGEST"), "AuthorizationType")
    assert "BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY" in message


def test_auth_block_must_match_the_type() -> None:
    request = basic(AuthorizationType="API_KEY")
    message = refused(request, "AuthParameters.BasicAuthParameters")
    assert "not allowed when AuthorizationType is API_KEY" in message
    assert "ApiKeyAuthParameters" in message
    request = basic(AuthParameters={})
    message = refused(request, "AuthParameters.BasicAuthParameters")
    assert "is required when AuthorizationType is BASIC" in message


@pytest.mark.parametrize(
    ("block", "member", "type_"),
    [
        ("BasicAuthParameters", "Password", "BASIC"),
        ("BasicAuthParameters", "Username", "BASIC"),
        ("ApiKeyAuthParameters", "ApiKeyValue", "API_KEY"),
        ("ApiKeyAuthParameters", "ApiKeyName", "API_KEY"),
    ],
)
def test_credentials_refuse_a_colon_without_echo(block: str, member: str, type_: str) -> None:
    values = {
        "BasicAuthParameters": {"Username": "u", "Password": "p"},
        "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
    }[block]
    request = basic(AuthorizationType=type_, AuthParameters={block: {**values, member: SECRET}})
    message = refused(request, f"AuthParameters.{block}.{member}")
    assert "colon" in message


def test_credential_missing_member() -> None:
    request = basic(AuthParameters={"BasicAuthParameters": {"Username": "u"}})
    assert "is required" in refused(request, "AuthParameters.BasicAuthParameters.Password")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("x" * 513, "1 to 512"), ("", "1 to 512"), ("a\x01b", "control"), ("\t\t", "other than tab")],
)
def test_password_constraints(value: str, expected: str) -> None:
    request = basic(AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": value}})
    message = refused(request, "AuthParameters.BasicAuthParameters.Password")
    assert expected in message
    if len(value) > 3:
        assert value not in message


def test_client_secret_and_client_id_paths() -> None:
    path = "AuthParameters.OAuthParameters.ClientParameters"
    request = oauth()
    request["AuthParameters"]["OAuthParameters"]["ClientParameters"]["ClientSecret"] = SECRET
    refused(request, f"{path}.ClientSecret")
    request = oauth()
    del request["AuthParameters"]["OAuthParameters"]["ClientParameters"]["ClientID"]
    assert "is required" in refused(request, f"{path}.ClientID")


@pytest.mark.parametrize(
    "endpoint", ["", "not a url", "ftp://idp.example.com/token", "https://x/" + "a" * 2048]
)
def test_authorization_endpoint(endpoint: str) -> None:
    request = with_auth(oauth(), "OAuthParameters", "AuthorizationEndpoint", endpoint)
    refused(request, "AuthParameters.OAuthParameters.AuthorizationEndpoint")


def test_http_method_enum() -> None:
    request = with_auth(oauth(), "OAuthParameters", "HttpMethod", "PATCH")
    message = refused(request, "AuthParameters.OAuthParameters.HttpMethod")
    assert "GET, POST, PUT" in message


def test_oauth_required_members() -> None:
    for member in ("ClientParameters", "AuthorizationEndpoint", "HttpMethod"):
        request = oauth()
        del request["AuthParameters"]["OAuthParameters"][member]
        refused(request, f"AuthParameters.OAuthParameters.{member}")


def invocation(list_name: str, entries: object) -> dict[str, Any]:
    request = basic()
    request["AuthParameters"]["InvocationHttpParameters"] = {list_name: entries}
    return request


INV = "AuthParameters.InvocationHttpParameters"


@pytest.mark.parametrize("key", ["Bad Key", "x(y)", "é", "a" * 513])
def test_header_key_token_characters(key: str) -> None:
    message = refused(
        invocation("HeaderParameters", [{"Key": key, "Value": "v"}]),
        f"{INV}.HeaderParameters[0].Key",
    )
    assert "header-name characters" in message


def test_header_value_printable_ascii_and_secret_not_echoed() -> None:
    entries = [
        {"Key": "X-Ok", "Value": "fine", "IsValueSecret": False},
        {"Key": "X-Bad", "Value": SECRET + "\x00", "IsValueSecret": True},
    ]
    message = refused(invocation("HeaderParameters", entries), f"{INV}.HeaderParameters[1].Value")
    assert "printable ASCII" in message


def test_query_key_and_value_controls() -> None:
    refused(
        invocation("QueryStringParameters", [{"Key": "a\x01", "Value": "v"}]),
        f"{INV}.QueryStringParameters[0].Key",
    )
    refused(
        invocation("QueryStringParameters", [{"Key": "a", "Value": "v\x0b"}]),
        f"{INV}.QueryStringParameters[0].Value",
    )
    refused(
        invocation("QueryStringParameters", [{"Key": "a", "Value": "v\tw"}]),
        f"{INV}.QueryStringParameters[0].Value",
    )
    # LF and CR (not tab: \x09 is inside the model's excluded range) are allowed in query values.
    Connections().create(invocation("QueryStringParameters", [{"Key": "a", "Value": "x\r\n"}]))


def test_at_most_100_parameters_per_list() -> None:
    entries = [{"Key": f"k{i}", "Value": "v", "IsValueSecret": False} for i in range(101)]
    message = refused(invocation("BodyParameters", entries), f"{INV}.BodyParameters")
    assert "at most 100" in message
    Connections().create(invocation("BodyParameters", entries[:100]))


def test_parameter_entry_shape() -> None:
    refused(invocation("HeaderParameters", {"Key": "x"}), f"{INV}.HeaderParameters")
    refused(invocation("HeaderParameters", [{"Value": "v"}]), f"{INV}.HeaderParameters[0].Key")
    refused(invocation("HeaderParameters", [{"Key": "k"}]), f"{INV}.HeaderParameters[0].Value")
    refused(
        invocation("HeaderParameters", [{"Key": "k", "Value": "v", "IsValueSecret": "yes"}]),
        f"{INV}.HeaderParameters[0].IsValueSecret",
    )
    refused(
        invocation("BodyParameters", [{"Key": "", "Value": "v"}]), f"{INV}.BodyParameters[0].Key"
    )


def test_unknown_members_are_named() -> None:
    message = refused(basic(Nmae="x"), "Nmae")
    assert "not a known member" in message
    request = basic()
    request["AuthParameters"]["BasicAuthParameters"]["Pasword"] = "x"
    refused(request, "AuthParameters.BasicAuthParameters.Pasword")


def test_wrong_types() -> None:
    assert "must be a string" in refused(basic(Name=5), "Name")
    request = basic(AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": 123}})
    refused(request, "AuthParameters.BasicAuthParameters.Password")
    refused(basic(AuthParameters=["x"]), "AuthParameters")


def test_description_kms_and_connectivity() -> None:
    assert "at most 512" in refused(basic(Description="d" * 513), "Description")
    refused(basic(KmsKeyIdentifier="alias/has space"), "KmsKeyIdentifier")
    refused(
        basic(InvocationConnectivityParameters={"ResourceParameters": {}}),
        "InvocationConnectivityParameters.ResourceParameters.ResourceConfigurationArn",
    )
    refused(
        basic(
            InvocationConnectivityParameters={
                "ResourceParameters": {"ResourceConfigurationArn": "arn:nope"}
            }
        ),
        "InvocationConnectivityParameters.ResourceParameters.ResourceConfigurationArn",
    )


def test_limits_extension() -> None:
    refused(basic(Stepline={"Limits": {"RatePerSecond": 0}}), "Stepline.Limits.RatePerSecond")
    refused(basic(Stepline={"Limits": {"Burst": 5}}), "Stepline.Limits.Burst")
    refused(basic(Stepline={"Limits": {"MaxConcurrency": True}}), "Stepline.Limits.MaxConcurrency")


def test_tls_extension_checks_pem() -> None:
    refused(basic(Stepline={"Tls": {"CaBundlePem": "garbage"}}), "Stepline.Tls.CaBundlePem")
    message = refused(
        basic(Stepline={"Tls": {"ClientKeyPem": SECRET}}), "Stepline.Tls.ClientCertificatePem"
    )
    assert "go together" in message


def test_update_validates_too() -> None:
    connections = Connections()
    connections.create(basic())
    with pytest.raises(ConnectionValidationError) as caught:
        connections.update(
            {"Name": "shop", "AuthParameters": {"BasicAuthParameters": {"Password": SECRET}}}
        )
    assert caught.value.message.startswith("AuthParameters.BasicAuthParameters.Password ")
    assert SECRET not in caught.value.message
    with pytest.raises(ConnectionValidationError) as caught:
        connections.update({"Name": "shop", "AuthorizationType": "API_KEY"})
    assert caught.value.message.startswith("AuthParameters.ApiKeyAuthParameters is required")


# The model's patterns, used only on short strings (they backtrack badly on long ones).
_MODEL_CREDENTIAL = re.compile(r"^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$")
_MODEL_HEADER_VALUE = re.compile(r"^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$")
_ALPHABET = st.sampled_from(["a", " ", "\t", ":", "\x00", "\x1f", "\x7f", "é", "\n", "~"])


@given(st.lists(_ALPHABET, min_size=1, max_size=10).map("".join))
def test_linear_credential_check_matches_the_model_pattern(value: str) -> None:
    assert (check_credential(value) is None) == bool(_MODEL_CREDENTIAL.fullmatch(value))


@given(st.lists(_ALPHABET, min_size=1, max_size=10).map("".join))
def test_linear_header_value_check_matches_the_model_pattern(value: str) -> None:
    assert (check_header_value(value) is None) == bool(_MODEL_HEADER_VALUE.fullmatch(value))
