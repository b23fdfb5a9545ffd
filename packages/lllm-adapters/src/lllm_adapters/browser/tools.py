"""The browser as ordinary function tools, for models without a hosted computer-use tool.

:func:`browser_tools` returns :class:`~lllm_domain.function.Function` values bound to one
:class:`~lllm_adapters.browser.computer.BrowserComputer`; give them to a prompt
(``Prompt(..., functions=browser_tools(browser))``) and any tool-calling model can navigate,
click by selector or coordinates, type, read the page text and take screenshots. Every tool
returns text the model reads; a refused navigation or a missing element comes back as an error
result it can correct. A screenshot's image is kept as the tool call's ``result`` (logged, so
the HTML export shows it) while the model reads its size and the page text instead.
"""

from __future__ import annotations

import base64
from typing import Any

from lllm_domain.computer import Click, KeyPress, Type
from lllm_domain.function import Function

from lllm_adapters.browser.computer import BrowserComputer


def _screenshot_text(result: Any) -> str:
    return (
        f"Screenshot taken ({result['mime_type']}, {result['bytes']} bytes). "
        f"Page {result['url']!r} shows:\n{result['text']}"
    )


class BrowserTools:
    """The tool callables over one browser (see :func:`browser_tools`)."""

    def __init__(self, browser: BrowserComputer) -> None:
        self.browser = browser

    def navigate(self, url: str) -> str:
        """Open a web page in the browser.

        Args:
            url: The absolute URL to open (only allowed hosts can be opened).
        """
        reached = self.browser.navigate(url)
        return f"Opened {reached}"

    def click(self, selector: str = "", x: int = -1, y: int = -1) -> str:
        """Click an element of the page, by CSS selector or at pixel coordinates.

        Args:
            selector: A CSS selector of the element to click (takes precedence).
            x: Horizontal pixel position, from the left edge of the viewport.
            y: Vertical pixel position, from the top edge of the viewport.
        """
        if selector:
            self.browser.click_selector(selector)
            return f"Clicked {selector!r}; now at {self.browser.url()}"
        if x < 0 or y < 0:
            raise ValueError("give a selector, or both x and y coordinates")
        self.browser.perform(Click(x, y))
        return f"Clicked at ({x}, {y}); now at {self.browser.url()}"

    def type_text(self, text: str, selector: str = "", press_enter: bool = False) -> str:
        """Type text into a field of the page.

        Args:
            text: The text to type.
            selector: A CSS selector of the field to fill; empty types where the focus is.
            press_enter: Whether to press Enter afterwards (e.g. to submit a form).
        """
        if selector:
            self.browser.fill(selector, text)
        else:
            self.browser.perform(Type(text))
        if press_enter:
            self.browser.perform(KeyPress(("ENTER",)))
        return f"Typed {len(text)} characters; now at {self.browser.url()}"

    def read_page(self) -> str:
        """Read the visible text of the current page."""
        return f"Page {self.browser.url()!r}:\n{self.browser.page_text()}"

    def screenshot(self) -> dict[str, Any]:
        """Take a screenshot of the browser's viewport."""
        capture = self.browser.screenshot()
        return {
            "url": self.browser.url(),
            "mime_type": capture.mime_type,
            "bytes": len(capture.data),
            "base64": base64.b64encode(capture.data).decode("ascii"),
            "text": self.browser.page_text(),
        }


def browser_tools(browser: BrowserComputer, *, prefix: str = "browser_") -> tuple[Function, ...]:
    """The function tools over ``browser``: ``browser_navigate``, ``browser_click``,
    ``browser_type``, ``browser_read_page`` and ``browser_screenshot`` (names start with
    ``prefix``). They block on the browser, so ``Agent.acall`` runs them in worker threads."""
    tools = BrowserTools(browser)
    functions = [
        Function.from_callable(tools.navigate, name=f"{prefix}navigate"),
        Function.from_callable(tools.click, name=f"{prefix}click"),
        Function.from_callable(tools.type_text, name=f"{prefix}type"),
        Function.from_callable(tools.read_page, name=f"{prefix}read_page"),
        Function.from_callable(
            tools.screenshot, name=f"{prefix}screenshot", processor=_screenshot_text
        ),
    ]
    from attrs import evolve

    return tuple(evolve(f, blocking=True) for f in functions)
