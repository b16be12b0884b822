"""Input checks for the IAM operations: the service model's constraints, AWS's messages.

The patterns, lengths and ranges come from botocore's IAM model (``iam/2010-05-08``). A value
that breaks one raises :class:`~stepline.policy.ValidationError` worded as AWS words it:
``1 validation error detected: Value 'a b' at 'roleName' failed to satisfy constraint: …``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar

from stepline.policy._errors import InvalidInput, ValidationError

__all__ = [
    "check_description",
    "check_document_text",
    "check_max_items",
    "check_max_session_duration",
    "check_name",
    "check_path",
    "check_path_prefix",
    "check_tags",
    "check_version_id",
    "non_whitespace_length",
    "paginate",
]

T = TypeVar("T")

NAME_PATTERN: Final = r"[\w+=,.@-]+"
_NAME: Final = re.compile(NAME_PATTERN)
_PATH_PATTERN: Final = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
_PATH: Final = re.compile(_PATH_PATTERN)
_PATH_PREFIX_PATTERN: Final = r"\u002F[\u0021-\u007F]*"
_PATH_PREFIX: Final = re.compile(_PATH_PREFIX_PATTERN)
_DOCUMENT_PATTERN: Final = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
_DOCUMENT: Final = re.compile(_DOCUMENT_PATTERN)
_VERSION_ID_PATTERN: Final = r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"
_VERSION_ID: Final = re.compile(_VERSION_ID_PATTERN)
_DESCRIPTION: Final = re.compile(r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*")
_TAG_KEY: Final = re.compile(r"[\w\s.:/=+\-@]+")
_TAG_VALUE: Final = re.compile(r"[\w\s.:/=+\-@]*")
_DOCUMENT_MAX: Final = 131072
_WHITESPACE: Final = re.compile(r"\s+")


def _shorten(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def _constraint(value: object, field: str, constraint: str) -> ValidationError:
    shown = _shorten(value) if isinstance(value, str) else value
    return ValidationError(
        f"1 validation error detected: Value '{shown}' at '{field}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _check_text(
    value: object, field: str, *, pattern: re.Pattern[str], pattern_text: str, low: int, high: int
) -> str:
    if not isinstance(value, str):
        raise _constraint(value, field, "Member must be a string")
    if len(value) < low:
        raise _constraint(value, field, f"Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise _constraint(value, field, f"Member must have length less than or equal to {high}")
    if pattern.fullmatch(value) is None:
        raise _constraint(
            value, field, f"Member must satisfy regular expression pattern: {pattern_text}"
        )
    return value


def check_name(value: object, field: str, *, max_length: int) -> str:
    """A role or policy name: ``[\\w+=,.@-]+``, 1 to ``max_length`` characters."""
    return _check_text(
        value, field, pattern=_NAME, pattern_text=NAME_PATTERN, low=1, high=max_length
    )


def check_path(value: object, field: str = "path") -> str:
    """A path: ``/`` or ``/text/``, at most 512 characters."""
    return _check_text(value, field, pattern=_PATH, pattern_text=_PATH_PATTERN, low=1, high=512)


def check_path_prefix(value: object) -> str:
    """A ``PathPrefix`` filter for the list operations."""
    return _check_text(
        value,
        "pathPrefix",
        pattern=_PATH_PREFIX,
        pattern_text=_PATH_PREFIX_PATTERN,
        low=1,
        high=512,
    )


def check_document_text(value: object, field: str) -> str:
    """A policy document as sent on the wire: 1 to 131072 characters of Latin-1 text."""
    return _check_text(
        value,
        field,
        pattern=_DOCUMENT,
        pattern_text=_DOCUMENT_PATTERN,
        low=1,
        high=_DOCUMENT_MAX,
    )


def check_version_id(value: object) -> str:
    """A policy version id such as ``v3``."""
    return _check_text(
        value,
        "versionId",
        pattern=_VERSION_ID,
        pattern_text=_VERSION_ID_PATTERN,
        low=1,
        high=128,
    )


def check_description(value: object) -> str:
    """A role or policy description: at most 1000 printable Latin-1 characters."""
    return _check_text(
        value,
        "description",
        pattern=_DESCRIPTION,
        pattern_text="[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
        low=0,
        high=1000,
    )


def check_max_session_duration(value: object) -> int:
    """A role's ``MaxSessionDuration``: 3600 to 43200 seconds."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _constraint(value, "maxSessionDuration", "Member must be an integer")
    if value < 3600:
        raise _constraint(
            value, "maxSessionDuration", "Member must have value greater than or equal to 3600"
        )
    if value > 43200:
        raise _constraint(
            value, "maxSessionDuration", "Member must have value less than or equal to 43200"
        )
    return value


def check_max_items(value: object) -> int:
    """``MaxItems``: 1 to 1000; ``None`` means AWS's default of 100."""
    if value is None:
        return 100
    if not isinstance(value, int) or isinstance(value, bool):
        raise _constraint(value, "maxItems", "Member must be an integer")
    if value < 1:
        raise _constraint(value, "maxItems", "Member must have value greater than or equal to 1")
    if value > 1000:
        raise _constraint(value, "maxItems", "Member must have value less than or equal to 1000")
    return value


def check_tags(tags: Sequence[Mapping[str, object]] | None) -> list[dict[str, str]]:
    """A ``Tags`` list: at most 50 ``{"Key", "Value"}`` pairs, keys unique ignoring case."""
    if tags is None:
        return []
    if len(tags) > 50:
        raise _constraint(
            f"{len(tags)} tags", "tags", "Member must have length less than or equal to 50"
        )
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, tag in enumerate(tags, start=1):
        key, value = tag.get("Key"), tag.get("Value")
        key = _check_text(
            key,
            f"tags.{index}.member.key",
            pattern=_TAG_KEY,
            pattern_text="[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            low=1,
            high=128,
        )
        value = _check_text(
            value,
            f"tags.{index}.member.value",
            pattern=_TAG_VALUE,
            pattern_text="[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
            low=0,
            high=256,
        )
        if key.casefold() in seen:
            raise InvalidInput(
                f"Duplicate tag keys found: {key!r}. Please note that Tag keys are case "
                "insensitive; give each key once."
            )
        seen.add(key.casefold())
        result.append({"Key": key, "Value": value})
    return result


def non_whitespace_length(document: str) -> int:
    """A document's size as IAM's quotas count it: whitespace is not counted."""
    return len(_WHITESPACE.sub("", document))


def _encode_marker(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode("utf-8")).decode("ascii")


def _decode_marker(marker: object) -> str:
    if not isinstance(marker, str) or not marker:
        raise _constraint(marker, "marker", "Member must have length greater than or equal to 1")
    try:
        decoded = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True)
        if not decoded:
            raise ValueError("empty marker")
        return decoded.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise ValidationError(
            f"Invalid Marker {_shorten(marker)!r}: pass the Marker value from the previous "
            "page's response unchanged, or omit it to start from the first page."
        ) from None


def paginate(
    items: Sequence[T],
    sort_key: Callable[[T], str],
    marker: str | None,
    max_items: int | None,
) -> tuple[list[T], bool, str | None]:
    """One page of ``items`` in ``sort_key`` order, resumable after concurrent changes.

    The marker is the (opaque) sort key of the first item of the next page, so a page after a
    deletion or insertion continues where the previous one stopped.

    Args:
        items: Everything that passes the filters.
        sort_key: A unique key per item; the listing order.
        marker: The previous response's ``Marker``, or ``None`` for the first page.
        max_items: ``MaxItems`` (1 to 1000), default 100.

    Returns:
        The page, whether more follows (``IsTruncated``), and the next ``Marker``.
    """
    limit = check_max_items(max_items)
    ordered = sorted(items, key=sort_key)
    if marker is not None:
        start = _decode_marker(marker)
        ordered = [item for item in ordered if sort_key(item) >= start]
    page = ordered[:limit]
    if len(ordered) > limit:
        return page, True, _encode_marker(sort_key(ordered[limit]))
    return page, False, None
