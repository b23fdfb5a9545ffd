"""Fixtures of the browser tests: the form page and one headless Chromium for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lllm_adapters.browser import BrowserComputer, BrowserSettings
from lllm_domain.computer import ScreenSize

from tests.support.form_page import form_page
from tests.support.openai_server import openai_server

__all__ = ["openai_server"]

VIEWPORT = ScreenSize(800, 600)


@pytest.fixture(scope="package")
def page_url() -> Iterator[str]:
    """The form page's URL."""
    with form_page() as url:
        yield url


@pytest.fixture(scope="package")
def shared_browser(page_url: str) -> Iterator[BrowserComputer]:
    """One Chromium for the browser tests (a launch costs about a second)."""
    settings = BrowserSettings(
        page_url, VIEWPORT, allowed_hosts=("127.0.0.1",), element_timeout_s=0.5
    )
    with BrowserComputer(settings) as browser:
        yield browser


@pytest.fixture
def browser(shared_browser: BrowserComputer, page_url: str) -> BrowserComputer:
    """The shared browser, back on the form page."""
    shared_browser.navigate(page_url)
    return shared_browser
