"""ProxySettings lives with the proxy adapter and round-trips through the domain's cattrs
converter in the dict format older versions wrote (saved notebooks and kernels read it)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_adapters.proxies import ProxySettings
from lllm_domain.errors import ConfigError

# Exactly what ProxySettings.to_dict() wrote before it moved out of the domain.
OLD_DICT: dict[str, Any] = {
    "activate": ["finance/fmp", "news/api"],
    "cutoff_date": "2024-03-01",
    "deploy_mode": False,
    "use_cache": True,
    "cache_dir": "/tmp/cache",
    "timeout": 12.5,
    "max_retries": 2,
    "base_urls": {"finance/fmp": "http://127.0.0.1:9"},
    "config_path": "/proj/lllm.toml",
    "classes": {"news/api": "proj.proxies:News"},
}


def test_an_old_dict_loads_and_is_written_back_the_same() -> None:
    settings = ProxySettings.from_dict(OLD_DICT)
    assert settings == ProxySettings(
        activate=("finance/fmp", "news/api"),
        cutoff_date=dt.date(2024, 3, 1),
        cache_dir="/tmp/cache",
        timeout=12.5,
        max_retries=2,
        base_urls={"finance/fmp": "http://127.0.0.1:9"},
        config_path="/proj/lllm.toml",
        classes={"news/api": "proj.proxies:News"},
    )
    assert settings.to_dict() == OLD_DICT
    assert list(settings.to_dict()) == list(OLD_DICT)  # same keys, same order, none omitted


def test_defaults_are_written_too_and_older_partial_dicts_load() -> None:
    data = ProxySettings().to_dict()
    assert data == {
        "activate": None,
        "cutoff_date": None,
        "deploy_mode": False,
        "use_cache": True,
        "cache_dir": None,
        "timeout": 30.0,
        "max_retries": 3,
        "base_urls": {},
        "config_path": None,
        "classes": {},
    }
    assert ProxySettings.from_dict({}) == ProxySettings()
    loaded = ProxySettings.from_dict({"timeout": 5, "base_urls": None, "classes": None})
    assert loaded.timeout == 5.0 and isinstance(loaded.timeout, float)
    assert loaded.base_urls == {} and loaded.classes == {}


def test_an_aware_cutoff_keeps_its_instant() -> None:
    cutoff = dt.datetime(2024, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    data = ProxySettings(cutoff_date=cutoff).to_dict()
    assert data["cutoff_date"] == "2024-03-01T00:00:00-05:00"
    assert ProxySettings.from_dict(data).cutoff_date == cutoff
    assert ProxySettings.from_dict({"cutoff_date": "2024-03-01T05:00:00Z"}).cutoff_date == (
        dt.datetime(2024, 3, 1, 5, tzinfo=dt.UTC)
    )


def test_bad_data_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="did you mean 'max_retries'"):
        ProxySettings.from_dict({"max_retry": 1})
    with pytest.raises(ConfigError, match="cutoff_date must be a YYYY-MM-DD"):
        ProxySettings.from_dict({"cutoff_date": 20240301})
    with pytest.raises(ConfigError, match="max_retries must be >= 0"):
        ProxySettings.from_dict({"max_retries": -1})


_paths = st.text("abcxyz/", min_size=1, max_size=12)


@given(
    activate=st.none() | st.lists(_paths, max_size=3).map(tuple),
    cutoff=st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
    deploy=st.booleans(),
    timeout=st.floats(0.001, 1e6),
    retries=st.integers(0, 50),
    base_urls=st.dictionaries(_paths, st.text(max_size=20), max_size=3),
)
def test_round_trip_through_json(
    activate: tuple[str, ...] | None,
    cutoff: dt.date | None,
    deploy: bool,
    timeout: float,
    retries: int,
    base_urls: dict[str, str],
) -> None:
    settings = ProxySettings(
        activate=activate,
        cutoff_date=cutoff,
        deploy_mode=deploy,
        timeout=timeout,
        max_retries=retries,
        base_urls=base_urls,
    )
    assert ProxySettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
