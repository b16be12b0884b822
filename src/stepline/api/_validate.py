"""Model-driven input checking, generic over every operation of every served model.

One walk over the request value does three things: it refuses values of the wrong JSON type
(AWS answers those before validating, with a serialisation error), converts wire values to the
Python types handlers get (timestamps to aware ``datetime``, blobs to ``bytes``), and collects
every broken constraint (required members, lengths, ranges, enums, patterns) into AWS's
``N validation errors detected: Value '...' at 'path' failed to satisfy constraint: ...``
message. Members the model does not know and members sent as ``null`` are dropped, as AWS
does, so handlers only ever see the model's members — except stepline's own ``Stepline`` block
of CreateConnection and UpdateConnection (TLS settings and pacing limits, see
docs/http-task.md), which the connections room checks.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Final

from stepline.api._errors import ProtocolError, ValidationFailure, validation_message
from stepline.api._model import Shape

__all__ = ["EXTENSION_MEMBER", "InputChecker"]

EXTENSION_MEMBER: Final = "Stepline"
"""stepline's documented extension block, passed through for the inputs that take one."""
_EXTENDED_INPUTS: Final = frozenset({"CreateConnectionRequest", "UpdateConnectionRequest"})

_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)
# A value longer than this is cut in messages; AWS prints it whole, which helps nobody.
_MAX_SHOWN: Final = 1000

_EXPECTED: Final = {
    "structure": "a JSON object",
    "map": "a JSON object",
    "list": "a JSON array",
    "string": "a JSON string",
    "integer": "a JSON integer",
    "long": "a JSON integer",
    "float": "a JSON number",
    "double": "a JSON number",
    "boolean": "true or false",
    "timestamp": "a number of seconds since the epoch",
    "blob": "a base64 string",
}


def json_type_name(value: object) -> str:
    """The JSON type of a value, for messages that must not show the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class InputChecker:
    """Checks and converts request input against a model shape.

    Args:
        validation_code: The code of constraint violations (``ValidationException`` for the
            JSON services, ``ValidationError`` for IAM).
        serialization_code: The code of wrong-type values (``SerializationException`` for
            JSON; the query protocol reports them as validation errors).
    """

    __slots__ = ("_serialization_code", "_validation_code")

    def __init__(self, *, validation_code: str, serialization_code: str) -> None:
        self._validation_code = validation_code
        self._serialization_code = serialization_code

    def check(self, shape: Shape | None, value: object) -> dict[str, Any]:
        """Check a whole request input.

        Args:
            shape: The operation's input shape (None: the operation takes no input).
            value: The decoded request body.

        Returns:
            The input as handlers get it.

        Raises:
            ProtocolError: A value of the wrong type (``SerializationException``).
            ValidationFailure: Broken constraints (``ValidationException``/``ValidationError``).
        """
        if not isinstance(value, dict):
            raise ProtocolError(
                self._serialization_code,
                f"The request body must be a JSON object, not {json_type_name(value)}; "
                "send the operation's input members in one object ({} when there are none).",
            )
        if shape is None:
            return {}
        violations: list[str] = []
        result = self._structure(shape, value, "", violations, False)
        if violations:
            raise ValidationFailure(self._validation_code, validation_message(violations))
        extension = value.get(EXTENSION_MEMBER)
        if shape.name in _EXTENDED_INPUTS and extension is not None:
            # Checked by the operation itself (the connections room parses its own block).
            result[EXTENSION_MEMBER] = extension
        return result

    def _wrong_type(self, shape: Shape, value: object, path: str) -> ProtocolError:
        where = f"'{path}'" if path else "the request body"
        expected = _EXPECTED.get(shape.type, shape.type)
        return ProtocolError(
            self._serialization_code,
            f"Cannot read {where}: it must be {expected}, not {json_type_name(value)}; "
            f"send {expected} there.",
        )

    def _value(
        self, shape: Shape, value: object, path: str, violations: list[str], hidden: bool
    ) -> object:
        kind = shape.type
        hidden = hidden or shape.sensitive
        if kind == "string":
            if not isinstance(value, str):
                raise self._wrong_type(shape, value, path)
            if shape.enum is not None and value not in shape.enum:
                violations.append(
                    _violation(value, path, hidden, f"satisfy enum value set: {shape.enum_text}")
                )
            self._length(shape, value, len(value), path, violations=violations, hidden=hidden)
            if shape.pattern is not None and not shape.pattern(value):
                violations.append(
                    _violation(
                        value,
                        path,
                        hidden,
                        f"satisfy regular expression pattern: {shape.pattern_text}",
                    )
                )
            return value
        if shape.document:
            return value
        if kind == "structure":
            if not isinstance(value, dict):
                raise self._wrong_type(shape, value, path)
            return self._structure(shape, value, path + ".", violations, hidden)
        if kind == "list":
            return self._list(shape, value, path, violations, hidden)
        if kind == "map":
            return self._map(shape, value, path, violations, hidden)
        if kind in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise self._wrong_type(shape, value, path)
            low, high = _INT32 if kind == "integer" else _INT64
            if not low <= value <= high:
                raise ProtocolError(
                    self._serialization_code,
                    f"Cannot read '{path}': {value} is out of range for a {kind} "
                    f"({low} to {high}); send a smaller number.",
                )
            self._range(shape, value, path, violations=violations, hidden=hidden)
            return value
        if kind in ("float", "double"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise self._wrong_type(shape, value, path)
            self._range(shape, value, path, violations=violations, hidden=hidden)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self._wrong_type(shape, value, path)
            return value
        if kind == "timestamp":
            return self._timestamp(shape, value, path)
        if kind == "blob":
            return self._blob(shape, value, path, violations, hidden)
        return value

    def _structure(
        self,
        shape: Shape,
        value: dict[str, Any],
        prefix: str,
        violations: list[str],
        hidden: bool,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        wire_members = shape.wire_members
        for wire_name, item in value.items():
            member = wire_members.get(wire_name)
            # Unknown members and explicit nulls are ignored, as AWS's JSON services do.
            if member is None or item is None:
                continue
            result[member.name] = self._value(
                member.shape, item, prefix + member.path_name, violations, hidden
            )
        for name in shape.required:
            if name not in result:
                path = prefix + shape.members[name].path_name
                violations.append(
                    f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
                )
        return result

    def _list(
        self, shape: Shape, value: object, path: str, violations: list[str], hidden: bool
    ) -> list[Any]:
        if not isinstance(value, list):
            raise self._wrong_type(shape, value, path)
        self._length(shape, value, len(value), path, violations=violations, hidden=hidden)
        element = shape.member
        assert element is not None
        result: list[Any] = []
        for index, item in enumerate(value, 1):
            item_path = f"{path}.{index}.member"
            if item is None:
                violations.append(
                    f"Value null at '{item_path}' failed to satisfy constraint: "
                    "Member must not be null"
                )
                continue
            result.append(self._value(element, item, item_path, violations, hidden))
        return result

    def _map(
        self, shape: Shape, value: object, path: str, violations: list[str], hidden: bool
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self._wrong_type(shape, value, path)
        self._length(shape, value, len(value), path, violations=violations, hidden=hidden)
        key_shape, value_shape = shape.key, shape.value
        assert key_shape is not None and value_shape is not None
        result: dict[str, Any] = {}
        for key, item in value.items():
            self._value(key_shape, key, f"{path}.{key}.key", violations, hidden)
            if item is None:
                continue
            result[key] = self._value(value_shape, item, f"{path}.{key}.member", violations, hidden)
        return result

    def _timestamp(self, shape: Shape, value: object, path: str) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._wrong_type(shape, value, path)
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ProtocolError(
                self._serialization_code,
                f"Cannot read '{path}': {value} seconds since the epoch is not a representable "
                "time; send a time between the years 1 and 9999.",
            ) from None

    def _blob(
        self, shape: Shape, value: object, path: str, violations: list[str], hidden: bool
    ) -> bytes:
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError(
                    self._serialization_code,
                    f"Cannot read '{path}': it is not valid base64; send the bytes base64-encoded.",
                ) from None
        else:
            raise self._wrong_type(shape, value, path)
        self._length(shape, data, len(data), path, violations=violations, hidden=True)
        return data

    @staticmethod
    def _length(
        shape: Shape,
        value: object,
        length: int,
        path: str,
        *,
        violations: list[str],
        hidden: bool,
    ) -> None:
        if shape.min is not None and length < shape.min:
            violations.append(
                _violation(value, path, hidden, f"have length greater than or equal to {shape.min}")
            )
        if shape.max is not None and length > shape.max:
            violations.append(
                _violation(value, path, hidden, f"have length less than or equal to {shape.max}")
            )

    @staticmethod
    def _range(
        shape: Shape, value: int | float, path: str, *, violations: list[str], hidden: bool
    ) -> None:
        if shape.min is not None and value < shape.min:
            violations.append(
                _violation(value, path, hidden, f"have value greater than or equal to {shape.min}")
            )
        if shape.max is not None and value > shape.max:
            violations.append(
                _violation(value, path, hidden, f"have value less than or equal to {shape.max}")
            )


def _violation(value: object, path: str, hidden: bool, constraint: str) -> str:
    """One ``Value 'x' at 'path' failed to satisfy constraint: Member must ...`` part.

    Sensitive values (the model's ``sensitive`` trait, and everything inside one) are left out,
    as AWS leaves them out: ``Value at 'path' failed ...``.
    """
    if hidden:
        return f"Value at '{path}' failed to satisfy constraint: Member must {constraint}"
    return (
        f"Value '{_java_text(value)}' at '{path}' failed to satisfy constraint: "
        f"Member must {constraint}"
    )


def _java_text(value: object) -> str:
    """A value as AWS's Java services print it (``[a, b]``, ``{k=v}``, ``true``), cut if long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = "[" + ", ".join(_java_text(item) for item in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    elif value is None:
        text = "null"
    else:
        text = str(value)
    if len(text) > _MAX_SHOWN:
        return text[:_MAX_SHOWN] + "..."
    return text
