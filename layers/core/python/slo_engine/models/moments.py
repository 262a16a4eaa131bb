"""Moments at the boundary: every timestamp the engine accepts is moved to UTC, or refused with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime


def in_utc(value: datetime) -> datetime:
    """``value`` (offset-aware) in UTC; a ValueError, which pydantic reports as a validation error, when UTC cannot
    hold it (``0001-01-01T00:00:00+01:00`` is a year-0 moment in UTC, which ``datetime`` cannot represent)."""
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{value.isoformat()} is outside the range of UTC datetimes") from error
