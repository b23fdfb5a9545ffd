"""The cutoff rule: only what was known *before* the cutoff, compared on one clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_adapters.proxies import ProxySettings
from lllm_domain.proxy import (
    DateField,
    filter_by_cutoff,
    is_before_cutoff,
)

CUTOFF = dt.date(2024, 3, 1)
UTC = dt.UTC


def test_items_dated_on_the_cutoff_day_are_dropped() -> None:
    items = [{"date": "2024-02-29"}, {"date": "2024-03-01"}, {"date": "2024-03-02"}]
    assert filter_by_cutoff(items, CUTOFF, DateField("date")) == [{"date": "2024-02-29"}]


def test_a_record_dated_on_the_cutoff_day_becomes_an_error() -> None:
    out = filter_by_cutoff({"date": "2024-03-01", "v": 1}, CUTOFF, DateField("date"))
    assert set(out) == {"error"}
    assert "2024-03-01" in out["error"]


def test_intraday_times_on_the_cutoff_day_are_dropped_even_at_midnight() -> None:
    items = [
        {"t": "2024-02-29 23:59:59"},
        {"t": "2024-03-01 00:00:00"},
        {"t": "2024-03-01 09:30:00"},
    ]
    kept = filter_by_cutoff(items, CUTOFF, DateField("t", "%Y-%m-%d %H:%M:%S"))
    assert kept == [{"t": "2024-02-29 23:59:59"}]


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        # An instant with an offset is compared as that instant (the cutoff: 2024-03-01 00:00Z).
        ("2024-02-29T23:59:00Z", True),
        ("2024-03-01T00:00:00Z", False),
        # Local date Mar 1 in Tokyo, but 23:00 UTC on Feb 29: known before the cutoff.
        ("2024-03-01T08:00:00+09:00", True),
        # Local date Feb 29 in New York, but 01:00 UTC on Mar 1: not known before it.
        ("2024-02-29T20:00:00-05:00", False),
        # Naive datetimes and plain dates are read on the cutoff's clock (UTC here).
        ("2024-02-29T23:59:59", True),
        ("2024-03-01T00:00:00", False),
        ("2024-02-29", True),
        ("2024-03-01", False),
    ],
)
def test_aware_and_naive_values_compare_as_instants(value: str, kept: bool) -> None:
    out = filter_by_cutoff([{"d": value}], CUTOFF, DateField("d"))
    assert (out == [{"d": value}]) is kept


def test_an_aware_cutoff_sets_the_clock_for_naive_values_and_dates() -> None:
    new_york = dt.datetime(2024, 3, 1, tzinfo=ZoneInfo("America/New_York"))  # 05:00Z
    items = [
        {"d": "2024-02-29"},  # the whole day is over by midnight in New York
        {"d": "2024-03-01"},
        {"d": "2024-02-29T23:00:00"},  # naive: New York wall clock, before midnight there
        {"d": "2024-03-01T04:00:00Z"},  # 04:00Z = 23:00 in New York on Feb 29
        {"d": "2024-03-01T05:00:00Z"},  # exactly the cutoff instant: not before it
    ]
    kept = filter_by_cutoff(items, new_york, DateField("d"))
    assert [i["d"] for i in kept] == ["2024-02-29", "2024-02-29T23:00:00", "2024-03-01T04:00:00Z"]


def test_a_datetime_cutoff_keeps_a_date_only_once_its_day_is_over() -> None:
    noon = dt.datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert is_before_cutoff(dt.date(2024, 2, 29), noon)
    assert not is_before_cutoff(dt.date(2024, 3, 1), noon)  # the day is not over at noon
    assert is_before_cutoff(dt.datetime(2024, 3, 1, 11, 59), noon)  # naive: read in UTC
    assert not is_before_cutoff(dt.date.max, noon)


def test_date_and_datetime_objects_in_responses_follow_the_same_rule() -> None:
    items = [
        {"d": dt.date(2024, 2, 29)},
        {"d": dt.date(2024, 3, 1)},
        {"d": dt.datetime(2024, 3, 1, 8, tzinfo=ZoneInfo("Asia/Tokyo"))},
    ]
    kept = filter_by_cutoff(items, CUTOFF, DateField("d"))
    assert kept == [items[0], items[2]]


def test_settings_round_trip_an_aware_cutoff() -> None:
    cutoff = dt.datetime(2024, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    settings = ProxySettings(cutoff_date=cutoff)
    assert ProxySettings.from_dict(settings.to_dict()).cutoff_date == cutoff
    assert ProxySettings.from_dict({"cutoff_date": "2024-03-01"}).cutoff_date == CUTOFF


@given(
    st.lists(
        st.datetimes(
            # Two days either side of the cutoff, where a wrong rule shows.
            dt.datetime(2024, 2, 28),
            dt.datetime(2024, 3, 3),
            timezones=st.sampled_from([UTC, ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Denver")]),
        )
    )
)
def test_no_item_at_or_after_the_cutoff_instant_ever_gets_through(
    moments: list[dt.datetime],
) -> None:
    items = [{"d": m.isoformat()} for m in moments]
    kept = filter_by_cutoff(items, CUTOFF, DateField("d"))
    limit = dt.datetime(2024, 3, 1, tzinfo=UTC)
    assert kept == [i for i, m in zip(items, moments, strict=True) if m < limit]
