"""Engine tests: the JSONata suites run once per JSONata engine behind the seam.

A module opts in with ``pytestmark = pytest.mark.usefixtures("jsonata_engine")``; each of its
tests then runs on jsonata2py (the default) and on jsonatapy (the second engine, skipped only
when that package is not installed), so a defect in either engine shows. The fixture is
module-scoped, so the engine is switched twice per module, not per test.

``STEPLINE_TEST_JSONATA_ENGINES`` (comma-separated) narrows the run to the engines named, e.g.
``STEPLINE_TEST_JSONATA_ENGINES=jsonatapy`` while chasing a jsonatapy difference.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from stepline.asl._jsonata import ENGINES, jsonata_engine_name, select_jsonata_engine


def _engine_params() -> list[object]:
    wanted = os.environ.get("STEPLINE_TEST_JSONATA_ENGINES", "")
    names = [name.strip() for name in wanted.split(",") if name.strip()] or list(ENGINES)
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        raise pytest.UsageError(
            f"STEPLINE_TEST_JSONATA_ENGINES names {unknown}, which are not JSONata engines; "
            f"use any of {', '.join(ENGINES)}"
        )
    return [
        pytest.param(
            name,
            id=name,
            marks=pytest.mark.skipif(
                importlib.util.find_spec(name) is None, reason=f"{name} is not installed"
            ),
        )
        for name in names
    ]


@pytest.fixture(scope="module", params=_engine_params())
def jsonata_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Compile every expression of the module's tests on the engine named by the parameter."""
    previous = jsonata_engine_name()
    select_jsonata_engine(request.param)
    try:
        yield request.param
    finally:
        select_jsonata_engine(previous)
