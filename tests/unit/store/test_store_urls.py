"""``redacted_url``: database URLs in messages and logs carry no password."""

from __future__ import annotations

import pytest

from stepline.store import redacted_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/stepline", "postgresql://app:***@db:5432/stepline"),
        ("postgresql://app@db/stepline?password=s3cret", "postgresql://app@db/stepline"),
        ("postgres://db/stepline?schema=a&password=s3cret", "postgres://db/stepline"),
        ("sqlite:////var/lib/stepline.db", "sqlite:////var/lib/stepline.db"),
        ("memory://", "memory://"),
    ],
)
def test_passwords_never_show(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
    assert "s3cret" not in redacted_url(url)
