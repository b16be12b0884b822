"""The service tests' fixtures: the kit's ``service`` and ``serve_service``, for every module here.

pytest looks for fixtures in a directory's conftest, so the test modules request these by name
without importing them; the helpers (:func:`_service_kit.unique`, :class:`ServiceServer`...)
they still import from :mod:`_service_kit`.
"""

from __future__ import annotations

from _service_kit import serve_service, service

# Names pytest collects as fixtures from this conftest (declared so linters see them used).
__all__ = ["serve_service", "service"]
