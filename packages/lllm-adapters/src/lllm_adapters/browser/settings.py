"""How the headless browser is launched and what it may open."""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from attrs import define, field
from lllm_domain.computer import DEFAULT_MAX_SCREENSHOT_BYTES, ScreenSize
from lllm_domain.errors import ComputerError

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (``apt-get install chromium``), the browser used by default."""

LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags that keep a headless Chromium quiet and offline except for the pages it is sent to
(Playwright adds ``--headless``, ``--no-sandbox`` and a fresh ``--user-data-dir`` itself)."""

_ALWAYS_ALLOWED_SCHEMES = frozenset({"about", "data", "blob"})


def _hosts(value: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in value if h.strip())


@define(frozen=True, slots=True)
class BrowserSettings:
    """A browser session's settings.

    ``start_url`` is opened first (``about:blank`` when empty). ``allowed_hosts`` are the hosts
    the browser may load anything from (``"example.com"``, or a pattern like
    ``"*.example.com"``); when empty, only the start URL's host is allowed. Any other request is
    blocked, and a navigation to another host is refused with a
    :class:`~lllm_domain.errors.ComputerError` naming the host and this setting.
    ``max_screenshot_bytes`` caps each screenshot: a PNG over it is sent as a JPEG of falling
    quality. ``settle_ms`` is how long after an input that may navigate (a click, typing, a
    key) the browser looks for a navigation it started, and waits for that page to load;
    ``timeout_s`` bounds every browser operation, and ``element_timeout_s`` how long a tool
    waits for an element named by a CSS selector to appear.
    """

    start_url: str = ""
    viewport: ScreenSize = field(factory=ScreenSize)
    allowed_hosts: tuple[str, ...] = field(default=(), converter=_hosts)
    executable: str = CHROMIUM
    launch_args: tuple[str, ...] = LAUNCH_ARGS
    max_screenshot_bytes: int = DEFAULT_MAX_SCREENSHOT_BYTES
    settle_ms: int = 50
    timeout_s: float = 30.0
    element_timeout_s: float = 5.0

    @property
    def hosts(self) -> tuple[str, ...]:
        """The allowed host patterns in force (the start URL's host when none were given)."""
        if self.allowed_hosts:
            return self.allowed_hosts
        host = urlsplit(self.start_url).hostname
        return (host.lower(),) if host else ()

    def allows(self, url: str) -> bool:
        """Whether the browser may load ``url``: ``about:``, ``data:`` and ``blob:`` URLs always,
        others only from an allowed host."""
        parts = urlsplit(url)
        if parts.scheme in _ALWAYS_ALLOWED_SCHEMES:
            return True
        host = (parts.hostname or "").lower()
        return bool(host) and any(fnmatchcase(host, pattern) for pattern in self.hosts)

    def check(self, url: str) -> None:
        """Raise :class:`~lllm_domain.errors.ComputerError` unless :meth:`allows` ``url``."""
        if not self.allows(url):
            raise ComputerError(refused(url, self.hosts))


def refused(url: str, hosts: tuple[str, ...]) -> str:
    """The message of a refused navigation to ``url``."""
    host = urlsplit(url).hostname or url
    allowed = ", ".join(hosts) or "none"
    return (
        f"navigation to {url!r} refused: host {host!r} is not in the browser's allowed hosts "
        f"({allowed}); add it to BrowserSettings.allowed_hosts if the agent may open it"
    )
