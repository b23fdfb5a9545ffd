"""The computer port on a real headless Chromium, driven through Playwright.

:class:`AsyncBrowserComputer` is the implementation (Playwright's async API);
:class:`BrowserComputer` is its blocking form, which runs the same object on a private event
loop in a worker thread, so it works from plain code, from threads and inside a running loop
(Playwright's own sync API refuses the latter).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from lllm_domain.computer import (
    Click,
    ComputerAction,
    DoubleClick,
    Drag,
    KeyPress,
    Move,
    ScreenCapture,
    Screenshot,
    ScreenSize,
    Scroll,
    Type,
    Wait,
)
from lllm_domain.errors import ComputerError

from lllm_adapters.browser.settings import BrowserSettings, refused
from lllm_adapters.extras import requires_extra

with requires_extra("browser", __name__):
    from playwright.async_api import Browser as PlaywrightBrowser
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import (
        Page,
        Playwright,
        Request,
        Route,
        async_playwright,
    )

T = TypeVar("T")

_KEYS = {
    "ENTER": "Enter",
    "RETURN": "Enter",
    "CTRL": "Control",
    "CONTROL": "Control",
    "SHIFT": "Shift",
    "ALT": "Alt",
    "OPTION": "Alt",
    "CMD": "Meta",
    "META": "Meta",
    "SUPER": "Meta",
    "WIN": "Meta",
    "ESC": "Escape",
    "ESCAPE": "Escape",
    "SPACE": "Space",
    "TAB": "Tab",
    "BACKSPACE": "Backspace",
    "DELETE": "Delete",
    "DEL": "Delete",
    "INSERT": "Insert",
    "HOME": "Home",
    "END": "End",
    "PAGEUP": "PageUp",
    "PAGEDOWN": "PageDown",
    "UP": "ArrowUp",
    "DOWN": "ArrowDown",
    "LEFT": "ArrowLeft",
    "RIGHT": "ArrowRight",
    "ARROWUP": "ArrowUp",
    "ARROWDOWN": "ArrowDown",
    "ARROWLEFT": "ArrowLeft",
    "ARROWRIGHT": "ArrowRight",
}
_BUTTONS = {"left": "left", "right": "right", "middle": "middle", "wheel": "middle"}
_JPEG_QUALITIES = (85, 70, 50, 30, 15)
_MAY_NAVIGATE = (Click, DoubleClick, Drag, Type, KeyPress)
"""Actions that can start a navigation (a link, a form submitted), so the screenshot after them
waits for it; a pointer move, a scroll or a wait cannot."""


def playwright_key(key: str) -> str:
    """A computer-use key name (``"CTRL"``, ``"ENTER"``, ``"a"``, ``"F5"``) as Playwright's."""
    upper = key.upper()
    if upper in _KEYS:
        return _KEYS[upper]
    if len(key) == 1:
        return key.lower() if key.isalpha() else key
    if upper.startswith("F") and upper[1:].isdigit():
        return upper
    return key[:1].upper() + key[1:].lower()


class AsyncBrowserComputer:
    """A headless Chromium tab as an :class:`~lllm_domain.computer.AsyncComputer`.

    Open it with ``async with`` (or :meth:`start` / :meth:`close`); it starts by itself on
    first use. It opens ``settings.start_url`` and blocks every request to a host outside
    ``settings.allowed_hosts``. Besides the computer-use actions it offers what the browser
    tools need: :meth:`navigate`, :meth:`click_selector`, :meth:`fill`, :meth:`page_text`.
    """

    def __init__(self, settings: BrowserSettings | None = None) -> None:
        self.settings = settings or BrowserSettings()
        self._playwright: Playwright | None = None
        self._browser: PlaywrightBrowser | None = None
        self._page: Page | None = None
        self._refused: list[str] = []
        self._navigation: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()

    # -- the port ----------------------------------------------------------------------------

    @property
    def screen_size(self) -> ScreenSize:
        """The viewport, in CSS pixels."""
        return self.settings.viewport

    async def aperform(self, action: ComputerAction) -> None:
        """Run ``action`` in the page; a refused navigation or a browser failure raises
        :class:`~lllm_domain.errors.ComputerError` naming the action."""
        page = await self._ready()
        self._refused.clear()
        try:
            await self._act(page, action)
            if isinstance(action, _MAY_NAVIGATE):
                await self._settle(page)
        except PlaywrightError as exc:
            raise ComputerError(
                f"the browser could not perform {action.as_data()}: {exc.message}"
            ) from None
        if self._refused:
            raise ComputerError(refused(self._refused[0], self.settings.hosts))

    async def ascreenshot(self) -> ScreenCapture:
        """The viewport as a PNG, or as a JPEG when the PNG is over
        ``settings.max_screenshot_bytes``."""
        page = await self._ready()
        cap = self.settings.max_screenshot_bytes
        try:
            png = await page.screenshot(type="png", timeout=self._timeout_ms)
            if len(png) <= cap:
                return ScreenCapture(png, "image/png")
            for quality in _JPEG_QUALITIES:
                jpeg = await page.screenshot(type="jpeg", quality=quality, timeout=self._timeout_ms)
                if len(jpeg) <= cap:
                    return ScreenCapture(jpeg, "image/jpeg")
        except PlaywrightError as exc:
            raise ComputerError(f"the browser could not take a screenshot: {exc.message}") from None
        raise ComputerError(
            f"a screenshot of the {self.screen_size.width}x{self.screen_size.height} viewport "
            f"stays over BrowserSettings.max_screenshot_bytes={cap} even as a JPEG of quality "
            f"{_JPEG_QUALITIES[-1]}; raise the cap or use a smaller viewport"
        )

    # -- what the browser tools add ----------------------------------------------------------

    async def navigate(self, url: str) -> str:
        """Open ``url`` (refused unless its host is allowed); returns the URL reached."""
        self.settings.check(url)
        page = await self._ready()
        self._refused.clear()
        try:
            await page.goto(url, timeout=self._timeout_ms)
        except PlaywrightError as exc:
            if not self._refused:
                raise ComputerError(f"the browser could not open {url!r}: {exc.message}") from None
        if self._refused:  # a redirect to a host that is not allowed
            raise ComputerError(refused(self._refused[0], self.settings.hosts))
        return page.url

    async def click_selector(self, selector: str) -> None:
        """Click the element matching CSS ``selector``."""
        page = await self._ready()
        self._refused.clear()
        try:
            await page.click(selector, timeout=self.settings.element_timeout_s * 1000)
            await self._settle(page)
        except PlaywrightError as exc:
            raise ComputerError(f"could not click {selector!r}: {exc.message}") from None
        if self._refused:
            raise ComputerError(refused(self._refused[0], self.settings.hosts))

    async def fill(self, selector: str, text: str) -> None:
        """Replace the value of the field matching CSS ``selector`` with ``text``."""
        page = await self._ready()
        try:
            await page.fill(selector, text, timeout=self.settings.element_timeout_s * 1000)
        except PlaywrightError as exc:
            raise ComputerError(f"could not type into {selector!r}: {exc.message}") from None

    async def page_text(self) -> str:
        """The page's visible text."""
        page = await self._ready()
        try:
            return await page.inner_text("body", timeout=self._timeout_ms)
        except PlaywrightError as exc:
            raise ComputerError(f"could not read the page's text: {exc.message}") from None

    async def url(self) -> str:
        """The URL of the page shown."""
        return (await self._ready()).url

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Launch Chromium and open the start URL (does nothing when already started)."""
        await self._ready()

    async def close(self) -> None:
        """Close the browser (safe to call twice)."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._page = None
        try:
            if browser is not None:
                await browser.close()
        finally:
            if playwright is not None:
                await playwright.stop()

    async def __aenter__(self) -> AsyncBrowserComputer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def _timeout_ms(self) -> float:
        return self.settings.timeout_s * 1000

    async def _ready(self) -> Page:
        if self._page is not None:
            return self._page
        async with self._lock:
            if self._page is None:
                self._page = await self._launch()
        return self._page

    async def _launch(self) -> Page:
        settings = self.settings
        if not os.access(settings.executable, os.X_OK):
            raise ComputerError(
                f"no Chromium at {settings.executable!r} (BrowserSettings.executable); install "
                "Debian's with: apt-get install chromium"
            )
        if settings.start_url:
            settings.check(settings.start_url)
        playwright = await async_playwright().start()
        try:
            browser = await playwright.chromium.launch(
                executable_path=settings.executable,
                headless=True,
                args=list(settings.launch_args),
                timeout=self._timeout_ms,
            )
        except PlaywrightError as exc:
            await playwright.stop()
            raise ComputerError(
                f"Chromium at {settings.executable!r} did not start: {exc.message}"
            ) from None
        self._playwright, self._browser = playwright, browser
        viewport = settings.viewport
        context = await browser.new_context(
            viewport={"width": viewport.width, "height": viewport.height}
        )
        context.set_default_timeout(self._timeout_ms)
        await context.route("**/*", self._guard)
        page = await context.new_page()
        page.on("request", self._on_request)
        page.on("load", self._on_load)
        page.on("requestfailed", self._on_failed)
        if settings.start_url:
            try:
                await page.goto(settings.start_url)
            except PlaywrightError as exc:
                await self.close()
                raise ComputerError(
                    f"the browser could not open the start URL {settings.start_url!r}: "
                    f"{exc.message}"
                ) from None
        return page

    async def _guard(self, route: Route, request: Request) -> None:
        if self.settings.allows(request.url):
            await route.continue_()
            return
        if request.is_navigation_request():
            # A 204 answer is "no navigation": the tab stays on its page (an aborted navigation
            # would leave Chromium's error page instead, which cannot even be screenshotted).
            self._refused.append(request.url)
            self._on_load(None)
            await route.fulfill(status=204)
            return
        await route.abort("blockedbyclient")

    def _on_request(self, request: Request) -> None:
        page = self._page
        main = page is not None and request.frame == page.main_frame
        idle = self._navigation is None or self._navigation.done()
        if main and idle and request.is_navigation_request():
            self._navigation = asyncio.get_running_loop().create_future()

    def _on_failed(self, request: Request) -> None:
        if request.is_navigation_request():
            self._on_load(None)

    def _on_load(self, page: Any) -> None:
        if self._navigation is not None and not self._navigation.done():
            self._navigation.set_result(None)

    async def _settle(self, page: Page) -> None:
        # An action that starts a navigation (a click on a link, Enter in a form) returns before
        # the new page exists; wait for it so the screenshot shows where the action led.
        await asyncio.sleep(self.settings.settle_ms / 1000)
        navigation = self._navigation
        if navigation is not None and not navigation.done():
            # A navigation that never loads (a download, a 204) leaves the page as it is.
            await asyncio.wait({navigation}, timeout=self.settings.timeout_s)

    async def _act(self, page: Page, action: ComputerAction) -> None:
        mouse, keyboard = page.mouse, page.keyboard
        if isinstance(action, Screenshot):
            return
        if isinstance(action, Click):
            if action.button == "back":
                await page.go_back()
            elif action.button == "forward":
                await page.go_forward()
            else:
                button = _BUTTONS.get(action.button)
                if button is None:
                    raise ComputerError(
                        f"click: unknown button {action.button!r}; use left, right, middle, "
                        "back or forward"
                    )
                await mouse.click(action.x, action.y, button=button)  # type: ignore[arg-type]
        elif isinstance(action, DoubleClick):
            await mouse.dblclick(action.x, action.y)
        elif isinstance(action, Move):
            await mouse.move(action.x, action.y)
        elif isinstance(action, Drag):
            (x0, y0), *rest = action.path
            await mouse.move(x0, y0)
            await mouse.down()
            for x, y in rest:
                await mouse.move(x, y)
            await mouse.up()
        elif isinstance(action, Scroll):
            await mouse.move(action.x, action.y)
            await mouse.wheel(action.scroll_x, action.scroll_y)
        elif isinstance(action, Type):
            await keyboard.type(action.text)
        elif isinstance(action, KeyPress):
            await keyboard.press("+".join(playwright_key(k) for k in action.keys))
        elif isinstance(action, Wait):
            await asyncio.sleep(action.ms / 1000)


class BrowserComputer:
    """The blocking form of :class:`AsyncBrowserComputer`, a
    :class:`~lllm_domain.computer.Computer`.

    The async browser runs on a private event loop in a daemon thread; each method waits for
    its result. Use it as a context manager, or call :meth:`close` when done.
    """

    def __init__(self, settings: BrowserSettings | None = None) -> None:
        self.browser = AsyncBrowserComputer(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> BrowserSettings:
        """The browser's settings."""
        return self.browser.settings

    @property
    def screen_size(self) -> ScreenSize:
        """The viewport, in CSS pixels."""
        return self.browser.screen_size

    def perform(self, action: ComputerAction) -> None:
        """Run ``action`` (see :meth:`AsyncBrowserComputer.aperform`)."""
        self._run(self.browser.aperform(action))

    def screenshot(self) -> ScreenCapture:
        """The viewport now (see :meth:`AsyncBrowserComputer.ascreenshot`)."""
        return self._run(self.browser.ascreenshot())

    def navigate(self, url: str) -> str:
        """Open ``url``; returns the URL reached."""
        return self._run(self.browser.navigate(url))

    def click_selector(self, selector: str) -> None:
        """Click the element matching CSS ``selector``."""
        self._run(self.browser.click_selector(selector))

    def fill(self, selector: str, text: str) -> None:
        """Replace the value of the field matching ``selector`` with ``text``."""
        self._run(self.browser.fill(selector, text))

    def page_text(self) -> str:
        """The page's visible text."""
        return self._run(self.browser.page_text())

    def url(self) -> str:
        """The URL of the page shown."""
        return self._run(self.browser.url())

    def start(self) -> BrowserComputer:
        """Launch the browser now rather than on first use."""
        self._run(self.browser.start())
        return self

    def close(self) -> None:
        """Close the browser and stop its thread (safe to call twice)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.browser.close(), loop).result(
                self.settings.timeout_s
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self.settings.timeout_s)
            loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> BrowserComputer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="lllm-browser", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        # The browser bounds each operation by settings.timeout_s; the margin covers a launch.
        return future.result(self.settings.timeout_s * 2 + 30)
