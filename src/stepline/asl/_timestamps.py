"""ASL timestamps: the one textual form AWS Step Functions accepts, parsed without a library.

AWS documents the form for ``Wait`` (``Timestamp``, ``TimestampPath``) and for the Choice
``Timestamp*`` operators as the RFC 3339 profile of ISO 8601, further restricted so that an
uppercase ``T`` separates date and time and an uppercase ``Z`` stands for UTC when no numeric
offset is given, e.g. ``2016-03-14T01:59:00Z``. What this module therefore accepts is::

    YYYY-MM-DD "T" hh:mm:ss [ "." 1*DIGIT ] ( "Z" / ("+" / "-") hh:mm )

Decisions where AWS's documentation is silent (recorded for docs/):

* Lowercase ``t``/``z``, a space separator, a missing seconds field, a missing offset, basic
  format (``20160314T015900Z``) and ``+hhmm`` offsets are all rejected: RFC 3339 plus AWS's
  uppercase rule excludes them.
* Any number of fractional digits is accepted (RFC 3339 puts no upper bound).
  :func:`timestamp_nanos` keeps nine digits and :func:`parse_timestamp` six (``datetime``'s
  resolution); further digits are truncated, never rounded. AWS's note that a ``Wait`` timestamp
  is truncated to whole seconds is the engine's business, not this parser's.
* A leap second (``:60``) is rejected, as is year ``0000``: neither can be represented as a
  ``datetime``, and neither is a value a workflow meaningfully compares against.
* ``-00:00`` (RFC 3339's "offset unknown") is read as UTC.
* Only ASCII digits count; a regular expression with ``\\d`` would accept e.g. Arabic-Indic
  digits, so the patterns spell out ``[0-9]``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

__all__ = ["parse_timestamp", "timestamp_nanos"]

_TIMESTAMP: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))"
)

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_UTC: Final = UTC
# Fixed-offset tzinfo objects are immutable; reusing them keeps parsing allocation-light.
_ZONES: dict[int, timezone] = {0: _UTC}

_Fields = tuple[date, int, int, int, str, int]


def _fields(text: object) -> _Fields | None:
    """Split and range-check a timestamp: (date, hour, minute, second, fraction, offset_min)."""
    if type(text) is not str:
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_hour, off_minute = match.groups()
    hours = int(hour)
    minutes = int(minute)
    seconds = int(second)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    try:
        day_value = date(int(year), int(month), int(day))
    except ValueError:
        # Month 13, 30 February, year 0000: not a calendar date.
        return None
    offset = 0
    if sign is not None:
        offset_hours = int(off_hour)
        offset_minutes = int(off_minute)
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset = offset_hours * 60 + offset_minutes
        if sign == "-":
            offset = -offset
    return day_value, hours, minutes, seconds, fraction or "", offset


def parse_timestamp(text: str) -> datetime | None:
    """Parse an ASL timestamp into a timezone-aware :class:`~datetime.datetime`.

    The result keeps the offset written in the text (``+02:00`` stays ``+02:00``); aware
    datetimes compare by instant, so callers need not normalise. Fractional seconds beyond
    microseconds are truncated.

    Args:
        text: e.g. ``2016-03-14T01:59:00Z`` or ``2016-03-14T03:59:00.250+02:00``.

    Returns:
        The instant, or ``None`` when ``text`` is not a string in the accepted form.
    """
    fields = _fields(text)
    if fields is None:
        return None
    day_value, hours, minutes, seconds, fraction, offset = fields
    zone = _ZONES.get(offset)
    if zone is None:
        zone = timezone(timedelta(minutes=offset))
        _ZONES[offset] = zone
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    return datetime(
        day_value.year,
        day_value.month,
        day_value.day,
        hours,
        minutes,
        seconds,
        micros,
        tzinfo=zone,
    )


def timestamp_nanos(text: object) -> int | None:
    """The instant an ASL timestamp denotes, as integer nanoseconds since the Unix epoch.

    Used by Choice comparisons: integers compare exactly at nanosecond precision (what a
    ``java.time.Instant`` keeps), whereas ``datetime`` would silently drop digits 7-9, and
    integer arithmetic cannot overflow near year 1 or 9999 the way offset conversion can.

    Args:
        text: Any value; only strings in the accepted form give a number.

    Returns:
        Nanoseconds since 1970-01-01T00:00:00Z, or ``None`` when ``text`` is not a timestamp.
    """
    fields = _fields(text)
    if fields is None:
        return None
    day_value, hours, minutes, seconds, fraction, offset = fields
    epoch_seconds = (
        (day_value.toordinal() - _EPOCH_ORDINAL) * 86_400
        + hours * 3_600
        + minutes * 60
        + seconds
        - offset * 60
    )
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return epoch_seconds * 1_000_000_000 + nanos
