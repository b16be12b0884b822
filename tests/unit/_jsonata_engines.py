"""The JSONata engines a test can run on (imported by the seam's test modules here).

jsonatapy, the second engine, is skipped only when the package is not installed.
"""

from __future__ import annotations

import importlib.util

import pytest

ENGINE_PARAMS = [
    pytest.param("jsonata2py", id="jsonata2py"),
    pytest.param(
        "jsonatapy",
        id="jsonatapy",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("jsonatapy") is None, reason="jsonatapy is not installed"
        ),
    ),
]
