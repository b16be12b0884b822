"""Fixtures for the HTTP Task integration tests: the fake third-party APIs on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.fake_apis import FakeApis


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    """The fake APIs over plain HTTP on loopback, fresh for each test."""
    with FakeApis() as servers:
        yield servers
