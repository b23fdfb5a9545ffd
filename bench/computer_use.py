"""Computer-use benchmark: a headless Chromium's action round trip (the action, then the
screenshot that goes back to the model), the browser's launch, and the screenshot size.

Run with ``uv run python bench/computer_use.py`` (needs ``/usr/bin/chromium``). Serves a small
form page on 127.0.0.1; prints medians; asserts nothing. The round trip is what one
``computer_call`` costs on our side, before the model's own latency.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from lllm_adapters.browser import AsyncBrowserComputer, BrowserComputer, BrowserSettings
from lllm_domain.computer import (
    Click,
    ComputerAction,
    ComputerCall,
    ComputerUse,
    KeyPress,
    Move,
    Screenshot,
    ScreenSize,
    Scroll,
    Type,
    run_computer_call,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the page lives in tests/support
from tests.support.form_page import FIELD_CENTRE, form_page

LAUNCHES = 3
TRIPS = 40
VIEWPORT = ScreenSize(1024, 768)


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def actions() -> dict[str, ComputerAction]:
    x, y = FIELD_CENTRE
    return {
        "screenshot only": Screenshot(),
        "move": Move(x + 10, y),
        "click (field)": Click(x, y),
        "type 5 chars": Type("hello"),
        "keypress BACKSPACE": KeyPress(("BACKSPACE",)),
        "scroll": Scroll(x, y, 0, 100),
    }


def bench_launch(url: str) -> list[float]:
    samples = []
    for _ in range(LAUNCHES):
        t0 = time.perf_counter()
        browser = BrowserComputer(BrowserSettings(url, VIEWPORT)).start()
        samples.append(time.perf_counter() - t0)
        browser.close()
    return samples


def bench_sync(url: str) -> tuple[dict[str, list[float]], list[int]]:
    results: dict[str, list[float]] = {}
    sizes: list[int] = []
    with BrowserComputer(BrowserSettings(url, VIEWPORT)) as browser:
        use = ComputerUse(browser)
        for name, action in actions().items():
            call = ComputerCall("b", action.as_data())
            samples = []
            for _ in range(TRIPS):
                t0 = time.perf_counter()
                output = run_computer_call(use, call)
                samples.append(time.perf_counter() - t0)
                assert output.capture is not None
                sizes.append(len(output.capture.data))
            results[name] = samples
    return results, sizes


async def bench_async(url: str) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    async with AsyncBrowserComputer(BrowserSettings(url, VIEWPORT)) as browser:
        for name, action in actions().items():
            samples = []
            for _ in range(TRIPS):
                t0 = time.perf_counter()
                await browser.aperform(action)
                await browser.ascreenshot()
                samples.append(time.perf_counter() - t0)
            results[name] = samples
    return results


def main() -> None:
    with form_page() as url:
        launch = bench_launch(url)
        sync, sizes = bench_sync(url)
        async_ = asyncio.run(bench_async(url))
    print(f"headless Chromium, viewport {VIEWPORT.width}x{VIEWPORT.height}, {TRIPS} trips each")
    print(f"{'launch + open the start page':32} {_ms(launch)}")
    print(f"{'screenshot size (PNG, median)':32} {statistics.median(sizes) / 1024:8.1f} KiB")
    print()
    print(f"{'action round trip (median)':32} {'sync':>11} {'async':>11}")
    for name in sync:
        print(f"{name:32} {_ms(sync[name])} {_ms(async_[name])}")

    def every(results: dict[str, list[float]]) -> list[float]:
        return [s for n, v in results.items() if n != "screenshot only" for s in v]

    print(f"{'every input action':32} {_ms(every(sync))} {_ms(every(async_))}")


if __name__ == "__main__":
    main()
