"""Cutoff filtering: a proxy response shows only what was known before the cutoff date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.errors import ProxyError
from lllm_domain.proxy.declaration import DateField

# -- cutoff filtering ----------------------------------------------------------------------
#
# The rule (the original LLLM's): a response shows only what was known *before* the cutoff.
# Everything is compared as an instant on one clock:
#
# - the cutoff: a date means midnight at the start of that day in UTC; a datetime with a
#   timezone means that instant (midnight in New York: ``datetime(2024, 3, 1,
#   tzinfo=ZoneInfo("America/New_York"))``); a naive datetime is read in UTC;
# - the cutoff's zone (UTC unless the cutoff carries one) is the clock for values without one:
#   a naive datetime in a response is read in that zone;
# - a date-only value stands for the whole day, known once the day is over: it is kept when
#   the day ends (next midnight in the cutoff's zone) no later than the cutoff. With a date
#   cutoff that is simply "dated strictly before the cutoff day";
# - a value with an offset (``...Z``, ``...+09:00``) is that instant, whatever its local date.
#
# So the items dated *on* the cutoff day are dropped: same-day data leaking into a back-test is
# the failure cutoffs exist to prevent.

_UTC = dt.UTC


def parse_moment(value: Any, fmt: str = "%Y-%m-%d") -> dt.date | dt.datetime | None:
    """A response value as a date (date-only values) or a datetime (naive, or aware when it
    carries an offset), or ``None`` when it is not a date.

    Accepts ``date`` / ``datetime`` objects, ISO dates and datetimes (``Z`` included) and
    strings in the :func:`~datetime.datetime.strptime` format ``fmt`` (a format without a time
    part gives a date).
    """
    if isinstance(value, dt.date):  # datetimes too
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # ISO first: fromisoformat is ~20x faster than strptime and covers most APIs.
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        parsed = dt.datetime.strptime(text, fmt)
    except ValueError:
        return None
    return parsed if _has_time(fmt) else parsed.date()


def _has_time(fmt: str) -> bool:
    return any(code in fmt for code in ("%H", "%I", "%M", "%S", "%f", "%z", "%X", "%c", "%p"))


def parse_date(value: Any, fmt: str = "%Y-%m-%d") -> dt.date | None:
    """The calendar date of a response value (see :func:`parse_moment`), or ``None``; a
    datetime's own date, as written, without converting its timezone."""
    moment = parse_moment(value, fmt)
    if isinstance(moment, dt.datetime):
        return moment.date()
    return moment


def cutoff_instant(cutoff: dt.date) -> dt.datetime:
    """The aware instant a cutoff stands for: a date is midnight at its start in UTC, a naive
    datetime is read in UTC, an aware datetime is itself."""
    if isinstance(cutoff, dt.datetime):
        return cutoff if cutoff.tzinfo is not None else cutoff.replace(tzinfo=_UTC)
    return dt.datetime.combine(cutoff, dt.time(0), _UTC)


def is_before_cutoff(moment: dt.date, cutoff: dt.date) -> bool:
    """Whether ``moment`` (a date or datetime from a response) was known before ``cutoff``,
    by the rule at the top of this section."""
    limit = cutoff_instant(cutoff)
    zone = limit.tzinfo or _UTC
    if isinstance(moment, dt.datetime):
        when = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
        return when < limit
    try:
        day_over = dt.datetime.combine(moment + dt.timedelta(days=1), dt.time(0), zone)
    except OverflowError:
        return False
    return day_over <= limit


def remove_response_keys(response: Any, keys: Sequence[str]) -> Any:
    """``response`` without ``keys`` (a new value; nothing is mutated): removed from each dict
    item of a list response, or from a dict response itself. Other values pass unchanged."""
    if not keys:
        return response
    drop = frozenset(keys)
    if isinstance(response, list):
        return [
            {k: v for k, v in item.items() if k not in drop} if isinstance(item, Mapping) else item
            for item in response
        ]
    if isinstance(response, Mapping):
        return {k: v for k, v in response.items() if k not in drop}
    return response


def filter_by_cutoff(response: Any, cutoff: dt.date, field: DateField) -> Any:
    """``response`` without the items dated on or after ``cutoff`` (a new value; nothing is
    mutated).

    ``cutoff`` is a date or a datetime; see the rule above :func:`parse_moment` for dates
    with and without timezones. A list response keeps the items whose ``field.path`` date is
    before the cutoff; undated items are dropped too, since a back-test must never see what it
    cannot date. For a dict response, ``field.path`` leads through nested keys to a list that
    is filtered the same way; when it names the dict's own date and that date is not before
    the cutoff, the whole record becomes an ``{"error": ...}`` the model can read.
    """
    keys = [k for k in field.path.split("/") if k]
    if not keys:
        raise ProxyError(f"date field path {field.path!r} is empty")
    if isinstance(response, list):
        return _filter_items(response, keys, cutoff, field.format)
    if isinstance(response, Mapping):
        return _filter_mapping(response, keys, cutoff, field.format)
    return response


def _known(value: Any, cutoff: dt.date, fmt: str) -> bool:
    moment = parse_moment(value, fmt)
    return moment is not None and is_before_cutoff(moment, cutoff)


def _item_value(item: Any, keys: Sequence[str]) -> Any:
    value = item
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _filter_items(items: list[Any], keys: Sequence[str], cutoff: dt.date, fmt: str) -> list[Any]:
    return [item for item in items if _known(_item_value(item, keys), cutoff, fmt)]


def _filter_mapping(data: Mapping[str, Any], keys: Sequence[str], cutoff: dt.date, fmt: str) -> Any:
    head, rest = keys[0], keys[1:]
    if head not in data:
        return dict(data)
    value = data[head]
    if not rest:
        if _known(value, cutoff, fmt):
            return dict(data)
        return {
            "error": f"no data available: this record is dated {value!r}, not before the "
            f"current date {cutoff.isoformat()}; ask for data dated before it"
        }
    if isinstance(value, list):
        return {**data, head: _filter_items(value, rest, cutoff, fmt)}
    if isinstance(value, Mapping):
        return {**data, head: _filter_mapping(value, rest, cutoff, fmt)}
    return dict(data)
