"""Debian's WebKitGTK as the browser suite's WebKit lane and the benchmarks drive it.

WebKitGTK's WebDriver (`WebKitWebDriver`, package webkit2gtk-driver) starts the
MiniBrowser that libwebkit2gtk ships in automation mode; Selenium speaks WebDriver to it,
and Xvfb (through pyvirtualdisplay) is its screen. Playwright's own WebKit build cannot
be downloaded here, so this is the WebKit the suite has: the engine of every iOS WebView.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DRIVER", "MINIBROWSER", "VIEWPORT", "webkit_display", "webkit_driver"]

DRIVER = os.environ.get("WEBKIT_WEBDRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = os.environ.get("WEBKIT_MINIBROWSER") or next(
	iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"))), "MiniBrowser"
)
# MiniBrowser's window is no narrower than its toolbar, 447 CSS px (an iPhone 13 is 390):
# the page is laid out at 447 x 844, a large iPhone's width.
VIEWPORT = (447, 844)
TOOLBAR = 38  # CSS px above the page in MiniBrowser's window


@contextmanager
def webkit_display() -> Iterator[None]:
	"""An Xvfb screen for WebKit's windows while the block runs, stopped afterwards."""
	from pyvirtualdisplay import Display

	display = Display(visible=False, size=(1280, 1024))
	display.start()
	try:
		yield
	finally:
		display.stop()


@contextmanager
def webkit_driver(log_path: str | None = None) -> Iterator:
	"""A Selenium session on a fresh WebKitGTK browser (own cookies and cache), quit afterwards.

	Needs a display (`webkit_display`). ITP is on, as in every iOS WebView.
	"""
	from selenium import webdriver
	from selenium.webdriver.webkitgtk.service import Service

	options = webdriver.WebKitGTKOptions()
	options.binary_location = MINIBROWSER
	options.add_argument("--automation")
	options.add_argument("--enable-itp")
	service = Service(executable_path=DRIVER, log_output=log_path or os.devnull)
	driver = webdriver.WebKitGTK(options=options, service=service)
	try:
		driver.set_window_rect(width=VIEWPORT[0], height=VIEWPORT[1] + TOOLBAR)
		yield driver
	finally:
		driver.quit()
