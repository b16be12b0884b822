"""The AWS service models, loaded from botocore and compiled once into fast lookup objects.

botocore ships the authoritative service descriptions (operations, shapes, constraints, error
codes) that boto3 itself serialises with, so the wire layer reads them from the installed
botocore instead of carrying a copy. Each model is compiled once into :class:`Shape`,
:class:`Operation` and :class:`ServiceModel` objects whose attributes are what validation and
serialisation need on the hot path (constraints pre-parsed, patterns pre-compiled, member
lists as tuples).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "BOTOCORE_SERVICES",
    "ErrorInfo",
    "Member",
    "Operation",
    "ServiceModel",
    "Shape",
    "load_service_model",
]

#: Our short service key (the SigV4 signing name, used in handler keys) → botocore's name.
BOTOCORE_SERVICES: Final[Mapping[str, str]] = {
    "states": "stepfunctions",
    "events": "events",
    "iam": "iam",
}

ShapeType = Literal[
    "structure",
    "list",
    "map",
    "string",
    "integer",
    "long",
    "float",
    "double",
    "boolean",
    "timestamp",
    "blob",
]


@dataclass(slots=True, eq=False)
class Member:
    """A member of a structure shape.

    Attributes:
        name: The member's name in the model (the key handlers see).
        wire_name: The name on the wire (the model's ``locationName``, else ``name``).
        path_name: The name AWS shows in validation messages (first letter lower-cased).
        shape: The member's shape.
    """

    name: str
    wire_name: str
    path_name: str
    shape: Shape


@dataclass(slots=True, eq=False)
class Shape:
    """One compiled shape of a service model.

    Attributes:
        name: The shape's name in the model.
        type: The botocore type name (``"structure"``, ``"string"``, ...).
        members: Structure members by model name, in model order.
        wire_members: Structure members by wire name (how requests name them).
        required: Names of required structure members, in model order.
        member: The element shape of a list.
        member_wire_name: The XML element name of a list's elements (``member`` by default).
        flattened: Whether a list or map is flattened on the XML wire.
        key: A map's key shape.
        value: A map's value shape.
        min: Minimum length (strings, blobs, lists, maps) or value (numbers).
        max: Maximum length or value.
        enum: Allowed string values, if the shape is an enum.
        enum_text: The enum as AWS prints it in messages (``[A, B]``).
        pattern: A compiled full-match predicate for the shape's ``pattern``, if it has one.
        pattern_text: The pattern as written in the model.
        sensitive: Whether values must never appear in messages.
        document: Whether the shape is a free-form document (any JSON).
        exception: Whether the shape is an error shape.
    """

    name: str
    type: ShapeType
    members: dict[str, Member] = field(default_factory=dict)
    wire_members: dict[str, Member] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    member: Shape | None = None
    member_wire_name: str = "member"
    flattened: bool = False
    key: Shape | None = None
    value: Shape | None = None
    min: int | float | None = None
    max: int | float | None = None
    enum: frozenset[str] | None = None
    enum_text: str = ""
    pattern: Callable[[str], bool] | None = None
    pattern_text: str = ""
    sensitive: bool = False
    document: bool = False
    exception: bool = False


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a service model says about one of its error codes.

    Attributes:
        code: The error code as it goes on the wire.
        http_status: The HTTP status the model gives it (400 when it gives none).
        sender_fault: Whether the caller is at fault (``Sender``) or the service (``Receiver``).
    """

    code: str
    http_status: int
    sender_fault: bool


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a service.

    Attributes:
        name: The operation name (``StartExecution``).
        key: The handler key (``states:StartExecution``).
        input: The input shape, if the operation takes input.
        output: The output shape, if the operation returns data.
        result_wrapper: For the query protocol, the XML element wrapping the result.
    """

    name: str
    key: str
    input: Shape | None
    output: Shape | None
    result_wrapper: str | None


@dataclass(frozen=True, slots=True)
class ServiceModel:
    """A compiled service model.

    Attributes:
        service: Our short key: the SigV4 signing name (``states``, ``events``, ``iam``).
        title: The service's full name, for messages.
        protocol: ``json`` or ``query``.
        json_version: ``1.0`` or ``1.1`` for JSON services.
        target_prefix: The ``X-Amz-Target`` prefix for JSON services (``AWSStepFunctions``).
        api_version: The model's API version (the query protocol's ``Version``).
        xml_namespace: The XML namespace of query responses.
        operations: Operations by name.
        errors: Error codes the model declares, by code.
    """

    service: str
    title: str
    protocol: Literal["json", "query"]
    json_version: str
    target_prefix: str
    api_version: str
    xml_namespace: str
    operations: Mapping[str, Operation]
    errors: Mapping[str, ErrorInfo]

    def error_info(self, code: str) -> ErrorInfo | None:
        """The model's facts about an error code, or None if the model does not declare it."""
        return self.errors.get(code)


@functools.cache
def load_service_model(service: str) -> ServiceModel:
    """Load and compile one service model from the installed botocore (once per process).

    Args:
        service: Our short key: ``states``, ``events`` or ``iam``.

    Returns:
        The compiled model.

    Raises:
        KeyError: For a service stepline does not serve.
        RuntimeError: When botocore is not installed.
    """
    botocore_name = BOTOCORE_SERVICES[service]
    try:
        from botocore.loaders import create_loader  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - botocore is a runtime dependency
        raise RuntimeError(
            "stepline serve reads the AWS service models from botocore, which is not installed; "
            "install it with 'pip install botocore'."
        ) from exc
    raw = create_loader().load_service_model(botocore_name, "service-2")
    return compile_service_model(service, raw)


def compile_service_model(service: str, raw: Mapping[str, Any]) -> ServiceModel:
    """Compile a raw botocore ``service-2`` document.

    Args:
        service: Our short key for the service.
        raw: The parsed ``service-2.json`` document.

    Returns:
        The compiled model.
    """
    metadata = raw["metadata"]
    builder = _ShapeBuilder(raw["shapes"])
    operations: dict[str, Operation] = {}
    for name, spec in raw["operations"].items():
        input_spec = spec.get("input")
        output_spec = spec.get("output")
        operations[name] = Operation(
            name=name,
            key=f"{service}:{name}",
            input=builder.get(input_spec["shape"]) if input_spec else None,
            output=builder.get(output_spec["shape"]) if output_spec else None,
            result_wrapper=output_spec.get("resultWrapper") if output_spec else None,
        )
    errors: dict[str, ErrorInfo] = {}
    for name, spec in raw["shapes"].items():
        if not spec.get("exception"):
            continue
        error = spec.get("error", {})
        code = error.get("code", name)
        errors[code] = ErrorInfo(
            code=code,
            http_status=int(error.get("httpStatusCode", 400)),
            sender_fault=bool(error.get("senderFault", not spec.get("fault", False))),
        )
    protocol = metadata["protocol"]
    if protocol not in ("json", "query"):
        raise ValueError(f"Unsupported protocol {protocol!r} in the {service} model.")
    return ServiceModel(
        service=service,
        title=metadata.get("serviceFullName", service),
        protocol=protocol,
        json_version=metadata.get("jsonVersion", ""),
        target_prefix=metadata.get("targetPrefix", ""),
        api_version=metadata["apiVersion"],
        xml_namespace=metadata.get("xmlNamespace", ""),
        operations=operations,
        errors=errors,
    )


def lower_first(name: str) -> str:
    """The member name as AWS writes it in validation messages (``RoleName`` → ``roleName``)."""
    return name[:1].lower() + name[1:]


class _ShapeBuilder:
    """Compiles raw shapes on demand, sharing one object per name (models are recursive)."""

    def __init__(self, raw_shapes: Mapping[str, Any]) -> None:
        self._raw = raw_shapes
        self._built: dict[str, Shape] = {}

    def get(self, name: str) -> Shape:
        shape = self._built.get(name)
        if shape is not None:
            return shape
        spec = self._raw[name]
        shape = Shape(name=name, type=spec["type"])
        # Registered before its children are built, so a recursive reference finds it.
        self._built[name] = shape
        shape.sensitive = bool(spec.get("sensitive", False))
        shape.document = bool(spec.get("document", False))
        shape.exception = bool(spec.get("exception", False))
        shape.flattened = bool(spec.get("flattened", False))
        if "min" in spec:
            shape.min = spec["min"]
        if "max" in spec:
            shape.max = spec["max"]
        if "enum" in spec:
            values = [str(v) for v in spec["enum"]]
            shape.enum = frozenset(values)
            shape.enum_text = "[" + ", ".join(values) + "]"
        if "pattern" in spec:
            shape.pattern_text = spec["pattern"]
            shape.pattern = compile_pattern(spec["pattern"])
        if shape.type == "structure":
            for member_name, member_spec in spec.get("members", {}).items():
                member = Member(
                    name=member_name,
                    wire_name=member_spec.get("locationName", member_name),
                    path_name=lower_first(member_name),
                    shape=self.get(member_spec["shape"]),
                )
                shape.members[member_name] = member
                shape.wire_members[member.wire_name] = member
            shape.required = tuple(spec.get("required", ()))
        elif shape.type == "list":
            shape.member = self.get(spec["member"]["shape"])
            shape.member_wire_name = spec["member"].get("locationName", "member")
        elif shape.type == "map":
            shape.key = self.get(spec["key"]["shape"])
            shape.value = self.get(spec["value"]["shape"])
        return shape


# Java's \p{...} classes that botocore patterns use, as Unicode general-category prefixes.
_CATEGORY_CLASSES: Final[Mapping[str, str]] = {"L": "L", "N": "N", "Z": "Z", "M": "M", "P": "P"}
_SINGLE_CLASS = re.compile(r"^\^?\[((?:\\.|[^\]\\])+)\]([*+])\$?$")


def compile_pattern(pattern: str) -> Callable[[str], bool] | None:
    """Compile a model pattern into a full-match predicate, as AWS (Java ``matches``) applies it.

    Python's ``re`` has no ``\\p{..}`` classes, which some IAM and EventBridge patterns use; those
    patterns are all one bracketed class with ``*`` or ``+``, which is checked character by
    character against Unicode categories instead. A pattern that neither route understands is
    not enforced (None) rather than enforced wrongly.

    Args:
        pattern: The pattern as written in the model.

    Returns:
        A predicate telling whether a whole string matches, or None.
    """
    if "\\p{" not in pattern:
        try:
            compiled = re.compile(pattern)
        except re.error:
            return None
        return lambda text: compiled.fullmatch(text) is not None
    match = _SINGLE_CLASS.match(pattern)
    if match is None:
        return None
    return _class_predicate(match.group(1), allow_empty=match.group(2) == "*")


def _class_predicate(body: str, *, allow_empty: bool) -> Callable[[str], bool] | None:
    """A predicate for ``[body]*`` / ``[body]+`` where body may hold ``\\p{X}`` classes."""
    categories: set[str] = set()
    ascii_only = False
    plain = ""
    index = 0
    while index < len(body):
        if body.startswith("\\p{", index):
            end = body.index("}", index)
            name = body[index + 3 : end]
            if name == "ASCII":
                ascii_only = True
            elif name in _CATEGORY_CLASSES:
                categories.add(_CATEGORY_CLASSES[name])
            else:
                return None
            index = end + 1
        elif body[index] == "\\" and index + 1 < len(body):
            plain += body[index : index + 2]
            index += 2
        else:
            plain += body[index]
            index += 1
    try:
        plain_class = re.compile(f"[{plain}]") if plain else None
    except re.error:
        return None
    frozen_categories = frozenset(categories)

    def matches(text: str) -> bool:
        if not text:
            return allow_empty
        for char in text:
            if ascii_only and ord(char) < 128:
                continue
            if unicodedata.category(char)[0] in frozen_categories:
                continue
            if plain_class is not None and plain_class.match(char):
                continue
            return False
        return True

    return matches
