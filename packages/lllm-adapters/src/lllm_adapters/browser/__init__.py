"""Computer use on a real headless Chromium (Debian's ``/usr/bin/chromium``, driven through
Playwright): the computer port for hosted computer-use models, and the same browser as function
tools for any tool-calling model.

Needs the ``browser`` extra: ``pip install "lllm-adapters[browser]"`` (and ``apt-get install
chromium``; Playwright's own browser download is not used)."""

from lllm_adapters.extras import requires_extra

with requires_extra("browser", "lllm_adapters.browser"):
    from lllm_adapters.browser.computer import (
        AsyncBrowserComputer,
        BrowserComputer,
        playwright_key,
    )
    from lllm_adapters.browser.settings import CHROMIUM, LAUNCH_ARGS, BrowserSettings
    from lllm_adapters.browser.tools import BrowserTools, browser_tools

__all__ = [
    "CHROMIUM",
    "LAUNCH_ARGS",
    "AsyncBrowserComputer",
    "BrowserComputer",
    "BrowserSettings",
    "BrowserTools",
    "browser_tools",
    "playwright_key",
]
