"""``stepline validate DEFINITION...``: every diagnostic of every file, one per line.

Each diagnostic is printed as ``FILE: SEVERITY LOCATION: message [CODE]`` on stdout, or
``FILE: valid`` when a file has no errors (warnings are printed but allowed). A file that cannot
be read or parsed is reported on stderr, like every other mistake the command line reports,
and the others are still checked. The exit status is 0 only when every file is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from stepline import StateMachine
from stepline.asl import DefinitionError, Diagnostic, InvalidDefinition, validate_definition
from stepline.cli._errors import EXIT_OK, EXIT_USAGE, CliError
from stepline.cli._load import Document, load_definition

__all__ = ["definition_diagnostics", "run_validate"]


def run_validate(paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Validate each file; return the exit status."""
    if sum(1 for path in paths if path == "-") > 1:
        raise CliError("Standard input ('-') can be read only once; name it once.")
    status = EXIT_OK
    for path in paths:
        try:
            document = load_definition(path)
        except CliError as exc:
            print(f"stepline: error: {exc.message}", file=err)
            status = EXIT_USAGE
            continue
        diagnostics = definition_diagnostics(document)
        for diagnostic in diagnostics:
            print(f"{document.source}: {diagnostic}", file=out)
        if any(d.severity == "ERROR" for d in diagnostics):
            status = EXIT_USAGE
        else:
            print(f"{document.source}: valid", file=out)
    out.flush()
    return status


def definition_diagnostics(document: Document, *, compile: bool = True) -> list[Diagnostic]:
    """Every diagnostic of a parsed definition.

    JSON files are validated from their text, so that a key written twice (two states with one
    name) is reported rather than silently dropped by the parser; the YAML loader already
    refuses repeated keys.

    Args:
        document: The parsed definition.
        compile: Also compile it, and report what only compiling finds (``run`` compiles it
            anyway, so it skips this).
    """
    source = document.text if document.format == "json" else document.value
    diagnostics = validate_definition(source)
    if not compile or any(d.severity == "ERROR" for d in diagnostics):
        return diagnostics
    # Validation should find everything, but compiling is the final word: report what it
    # refuses too, rather than call "valid" a definition that `run` would reject.
    try:
        StateMachine(document.value)
    except InvalidDefinition as exc:
        diagnostics.extend(d for d in exc.diagnostics if d not in diagnostics)
    except DefinitionError as exc:
        diagnostics.append(Diagnostic(exc.code, exc.message, ""))
    return diagnostics
