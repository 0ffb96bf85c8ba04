"""The viewer's time zone: dates on the pages are shown and read in it.

The browser tells it once in a `tz` cookie (static/js/app.js); without one, UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, has_request_context, request

from ..models import utcnow


def viewer_zone() -> tzinfo:
    """The zone named by the `tz` cookie if it is a real one, else UTC."""
    if not has_request_context():
        return UTC
    if "viewer_zone" not in g:
        zone: tzinfo = UTC
        name = unquote(request.cookies.get("tz", ""))
        if name and len(name) <= 64 and ".." not in name and not name.startswith("/"):
            try:
                zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                zone = UTC
        g.viewer_zone = zone
    return g.viewer_zone


def zone_name() -> str:
    return str(viewer_zone())


def local(value: datetime) -> datetime:
    """The moment in the viewer's zone; in UTC where that zone would pass year 1 or 9999
    (dates so far out are refused on input, but older data may hold one)."""
    try:
        return value.astimezone(viewer_zone())
    except OverflowError:
        return value.astimezone(UTC)


def short_date(value: datetime | None) -> str:
    """'26 Nov', with the year when it is not this year."""
    if value is None:
        return ""
    return _day(local(value))


def _day(at: datetime) -> str:
    if at.year == local(utcnow()).year:
        return f"{at.day} {at:%b}"
    return f"{at.day} {at:%b %Y}"


def date_time(value: datetime | None) -> str:
    """'26 Nov 2026, 14:05 CET'."""
    if value is None:
        return ""
    value = local(value)
    return f"{value.day} {value:%b %Y, %H:%M} {value.tzname()}"


def due_text(value: datetime | str | None) -> str:
    """A due moment as the card shows it: '26 Nov', or '26 Nov, 14:30' when it is not the
    end of the day. Takes the ISO text the history keeps, too."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    at = local(value)
    text = _day(at)
    if (at.hour, at.minute) != (23, 59):
        text += f", {at:%H:%M}"
    return text
