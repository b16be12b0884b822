"""The service tests' fixtures: the kit's ``service`` and ``serve_service``, for every module here.

pytest looks for fixtures in a directory's conftest, so the test modules request these by name
without importing them; the helpers (:func:`_service_kit.unique`, :class:`ServiceServer`...)
they still import from :mod:`_service_kit`.
"""

from __future__ import annotations

import pytest
from _service_kit import serve_service, service, service_kinds

# Names pytest collects as fixtures from this conftest (declared so linters see them used).
__all__ = ["pytest_generate_tests", "serve_service", "service"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests using ``service`` once per store kind of their module."""
    if "service" in metafunc.fixturenames:
        metafunc.parametrize(
            "service", service_kinds(metafunc.module), indirect=True, scope="module"
        )
