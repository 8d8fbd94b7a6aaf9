"""Debian's Chromium as the browser suite and the benchmarks launch it.

Playwright cannot download its own browsers here, so both use the system one; the
flags keep it from reaching for the network or a sandbox that root cannot have.
"""

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-dev-shm-usage",
	"--disable-background-networking",
	"--disable-component-update",
	"--no-first-run",
]
