"""Retry and Catch: which rule matches an error, and how long to back off.

Matching follows AWS: rules are tried in order and the first whose ``ErrorEquals`` matches wins;
``States.ALL`` matches any error and ``States.TaskFailed`` any error but ``States.Timeout`` — but
neither matches the terminal errors ``States.Runtime`` and ``States.DataLimitExceeded``, which no
rule can retry or catch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final

from stepline.asl._errors import ALL, DATA_LIMIT_EXCEEDED, RUNTIME, TASK_FAILED, TIMEOUT
from stepline.asl._model import Catcher, Retrier

__all__ = ["TERMINAL_ERRORS", "error_matches", "find_catcher", "find_retrier", "retry_delay"]

TERMINAL_ERRORS: Final = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})
"""Errors that end the execution whatever its Retry and Catch fields say."""


def error_matches(error_equals: Sequence[str], error: str) -> bool:
    """Whether an ``ErrorEquals`` list matches the error name."""
    if error in TERMINAL_ERRORS:
        return False
    for name in error_equals:
        if name in (error, ALL):
            return True
        if name == TASK_FAILED and error != TIMEOUT:
            return True
    return False


def find_retrier(retriers: Sequence[Retrier], error: str) -> int | None:
    """Index of the first retrier matching the error, or ``None``."""
    for index, retrier in enumerate(retriers):
        if error_matches(retrier.error_equals, error):
            return index
    return None


def find_catcher(catchers: Sequence[Catcher], error: str) -> Catcher | None:
    """The first catcher matching the error, or ``None``."""
    for catcher in catchers:
        if error_matches(catcher.error_equals, error):
            return catcher
    return None


def retry_delay(retrier: Retrier, attempt: int, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0).

    ``IntervalSeconds * BackoffRate ** attempt``, capped by ``MaxDelaySeconds``; with
    ``JitterStrategy: FULL`` a uniformly random fraction of that.
    """
    delay = retrier.interval_seconds * retrier.backoff_rate**attempt
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_strategy == "FULL":
        delay = rng.uniform(0, delay)
    return float(delay)
