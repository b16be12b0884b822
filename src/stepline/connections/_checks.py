"""Field-level checks for connection requests, from the ``events`` 2015-10-07 model constraints.

Each check returns ``None`` when the value is fine, else a phrase saying what is allowed. The
phrases never quote the value: a value in the wrong field may well be a secret.

The model's patterns for credentials and header values nest repeated groups
(``^[ \\t]*[^…]+([ \\t]+[^…]+)*[ \\t]*$``), which a backtracking engine can take exponential time
to reject; the checks below accept exactly the same strings in one linear pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = [
    "NAME_PATTERN",
    "check_credential",
    "check_description",
    "check_endpoint",
    "check_header_key",
    "check_header_value",
    "check_kms_key",
    "check_name",
    "check_query_key",
    "check_query_value",
    "check_resource_configuration_arn",
]

Check = Callable[[str], "str | None"]

NAME_PATTERN: Final = re.compile(r"[.\-_A-Za-z0-9]+")
# Control characters except tab (the credential and header patterns allow tab as spacing).
_CONTROL_BUT_TAB: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEADER_VALUE_BAD: Final = re.compile(r"[^\t\x20-\x7e]")
_QUERY_KEY_BAD: Final = re.compile(r"[\x00-\x1f\x7f]")
_QUERY_VALUE_BAD: Final = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
# The model's HeaderKey pattern, verbatim: note that `+-.` is a range and so admits `,`.
_HEADER_KEY: Final = re.compile(r"[!#$%&'*+-.^_`|~0-9a-zA-Z]+")
_ENDPOINT: Final = re.compile(r"((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@&=+$,A-Za-z0-9])+)([).!';/?:,])?")
_ENDPOINT_SCHEME: Final = re.compile(r"https?://[^/?#:@]+", re.IGNORECASE)
_KMS_KEY: Final = re.compile(r"[a-zA-Z0-9_\-/:]*")
_RESOURCE_CONFIGURATION_ARN: Final = re.compile(
    r"arn:[a-z0-9\-]+:vpc-lattice:[a-zA-Z0-9\-]+:\d{12}:resourceconfiguration/rcfg-[0-9a-z]{17}"
)
_LINE_BREAK: Final = re.compile(r"[\n\r\x85\u2028\u2029]")


def _length(value: str, low: int, high: int) -> str | None:
    if low <= len(value) <= high:
        return None
    if low == 0:
        return f"must be at most {high} characters long"
    return f"must be {low} to {high} characters long"


def check_name(value: str) -> str | None:
    """``ConnectionName``: 1-64 of ``A-Z a-z 0-9 . - _``."""
    if not 1 <= len(value) <= 64 or not NAME_PATTERN.fullmatch(value):
        return "must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '-' and '_'"
    return None


def check_description(value: str) -> str | None:
    """``ConnectionDescription``: at most 512 characters, no line breaks (pattern ``.*``)."""
    if len(value) > 512:
        return "must be at most 512 characters long"
    if _LINE_BREAK.search(value):
        return "must be a single line (no line breaks)"
    return None


def check_credential(value: str) -> str | None:
    """``AuthHeaderParameters``: user names, key names and values, client ids and secrets."""
    problem = _length(value, 1, 512)
    if problem:
        return problem
    if ":" in value:
        return "must not contain a colon (':')"
    if _CONTROL_BUT_TAB.search(value):
        return "must not contain control characters (tab is the only one allowed)"
    if not value.strip("\t"):
        return "must contain at least one character other than tab"
    return None


def check_header_key(value: str) -> str | None:
    """``HeaderKey``: an HTTP token, at most 512 characters."""
    if not 1 <= len(value) <= 512 or not _HEADER_KEY.fullmatch(value):
        return (
            "must be 1 to 512 header-name characters: letters, digits and "
            "! # $ % & ' * + , - . ^ _ ` | ~"
        )
    return None


def check_header_value(value: str) -> str | None:
    """``HeaderValueSensitive``: 1-512 printable ASCII characters (and tabs)."""
    problem = _length(value, 1, 512)
    if problem:
        return problem
    if _HEADER_VALUE_BAD.search(value):
        return "must contain printable ASCII characters only (and tabs)"
    if not value.strip("\t"):
        return "must contain at least one character other than tab"
    return None


def check_query_key(value: str) -> str | None:
    """``QueryStringKey``: 1-512 characters, no control characters."""
    problem = _length(value, 1, 512)
    if problem:
        return problem
    if _QUERY_KEY_BAD.search(value):
        return "must not contain control characters"
    return None


def check_query_value(value: str) -> str | None:
    """``QueryStringValueSensitive``: 1-512 characters; LF and CR are the only controls."""
    problem = _length(value, 1, 512)
    if problem:
        return problem
    if _QUERY_VALUE_BAD.search(value):
        return "must not contain control characters other than line feed and carriage return"
    return None


def check_endpoint(value: str) -> str | None:
    """``HttpsEndpoint``: the model's URL pattern, and (stepline) an absolute http(s) URL."""
    problem = _length(value, 1, 2048)
    if problem:
        return problem
    if not _ENDPOINT.fullmatch(value):
        return (
            "must be a URL made of letters, digits, percent escapes and the characters "
            "- ( ) _ . ! ~ * ' ; / ? : @ & = + $ ,"
        )
    if not _ENDPOINT_SCHEME.match(value):
        return "must be an absolute URL starting with https:// and a host name"
    return None


def check_kms_key(value: str) -> str | None:
    """``KmsKeyIdentifier``: at most 2048 of ``A-Z a-z 0-9 _ - / :``."""
    if len(value) > 2048 or not _KMS_KEY.fullmatch(value):
        return "must be at most 2048 characters from A-Z, a-z, 0-9, '_', '-', '/' and ':'"
    return None


def check_resource_configuration_arn(value: str) -> str | None:
    """``ResourceConfigurationArn``: a VPC Lattice resource configuration ARN, or empty."""
    if value and (len(value) > 2048 or not _RESOURCE_CONFIGURATION_ARN.fullmatch(value)):
        return (
            "must be a VPC Lattice resource configuration ARN "
            "(arn:aws:vpc-lattice:<region>:<account>:resourceconfiguration/rcfg-<17 characters>)"
        )
    return None
