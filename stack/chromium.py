"""Debian's Chromium as the browser suite and the benchmarks launch it, and how they wait on a page.

Playwright cannot download its own browsers here, so both use the system one; the
flags keep it from reaching for the network or a sandbox that root cannot have.
"""

import os
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-dev-shm-usage",
	"--disable-background-networking",
	"--disable-component-update",
	"--no-first-run",
]


def wait_until(page, expression: str, timeout: float = 15_000) -> None:
	"""Wait until `expression` is truthy in the page.

	Not `page.wait_for_function`: once its first check fails it polls by evaluating a string
	inside the page, which a webview page's content security policy forbids. This evaluates
	through DevTools, which the policy does not govern, every 50 ms until the deadline.
	"""
	deadline = time.monotonic() + timeout / 1000
	while not page.evaluate(expression):
		assert time.monotonic() < deadline, f"not true within {timeout:.0f} ms: {expression}"
		page.wait_for_timeout(50)
