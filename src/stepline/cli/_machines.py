"""``stepline run --machine NAME=FILE``: the state machines a run may start as nested workflows.

Each option names a state machine and the file of its definition; the run's Task states with
``arn:aws:states:::states:startExecution`` (any pattern) start it by its ARN,
``arn:aws:states:<region>:<account>:stateMachine:NAME``. Every machine of the run may start
every other one (and itself), with the same ``--task`` functions, connections and clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from stepline.cli._errors import CliError

__all__ = ["parse_machine_specs"]

# AWS's state machine names: 1-80 letters, digits, hyphens and underscores.
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")


def parse_machine_specs(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, file)`` pairs from ``NAME=FILE`` specs, names unique.

    Raises:
        CliError: A spec without ``=``, an invalid or repeated name, or an empty file name.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise CliError(
                f"--machine {spec!r} is not NAME=FILE: give the state machine's name and its "
                "definition file, e.g. --machine Child=child.asl.json."
            )
        if not _NAME.fullmatch(name):
            raise CliError(
                f"--machine {spec!r}: the name {name!r} is not a valid state machine name; use "
                "1 to 80 letters, digits, hyphens and underscores."
            )
        if name in seen:
            raise CliError(f"--machine names {name!r} twice; give each state machine once.")
        seen.add(name)
        found.append((name, path))
    return found
