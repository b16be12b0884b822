"""The Amazon States Language, pure: parse, validate and compile definitions.

No I/O, no asyncio, no clock. Everything a definition says is compiled here, once, into
callables the engine runs.
"""

from __future__ import annotations

from stepline.asl._compile import compile_definition, load_definition
from stepline.asl._diagnostics import Diagnostic, InvalidDefinition
from stepline.asl._errors import DefinitionError, StatesError
from stepline.asl._model import CompiledDefinition
from stepline.asl._validate import validate_definition

__all__ = [
    "CompiledDefinition",
    "DefinitionError",
    "Diagnostic",
    "InvalidDefinition",
    "StatesError",
    "compile_definition",
    "load_definition",
    "validate_definition",
]
