"""Helpers for the browser tests."""
from __future__ import annotations

import time


def wait_until(page, expression: str, timeout: float = 20_000, interval: float = 0.1):
    """Poll a JavaScript expression until it is truthy; return its value. Works under a CSP without
    'unsafe-eval' (page.evaluate goes through the DevTools protocol, which the page's policy does not govern)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout / 1000:.0f} s waiting for {expression}")
        time.sleep(interval)

