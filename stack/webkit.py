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
from pathlib import Path

__all__ = ["APP", "DRIVER", "MINIBROWSER", "VIEWPORT", "webkit_display", "webkit_driver"]

DRIVER = os.environ.get("WEBKIT_WEBDRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = os.environ.get("WEBKIT_MINIBROWSER") or next(
	iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"))), "MiniBrowser"
)
# A WebKitGTK WebView standing in for an iOS app's WKWebView: its message handler is
# there before the page loads, and it keeps a data store and disk cache as an app does.
APP = str(Path(__file__).with_name("webkit-host"))
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
def webkit_driver(log_path: str | None = None, app_messages: Path | None = None) -> Iterator:
	"""A Selenium session on a fresh WebKitGTK browser (own cookies and cache), quit afterwards.

	Needs a display (`webkit_display`). By default MiniBrowser, with an ephemeral data
	store (nothing on disk) and ITP on, as in every iOS WebView. With `app_messages`, the
	app stand-in (stack/webkit-host, an iPhone 13's screen), which appends what the page
	posts to `webkit.messageHandlers.webviewKit` to that file.
	"""
	from selenium import webdriver
	from selenium.webdriver.webkitgtk.service import Service

	options = webdriver.WebKitGTKOptions()
	service = Service(executable_path=DRIVER, log_output=log_path or os.devnull)
	options.add_argument("--automation")
	if app_messages:
		options.binary_location = APP
		options.set_capability("browserName", "webview-kit-host")  # the name it tells the driver
		options.add_argument(f"--messages={app_messages}")
		# The app's data store and cache, beside its messages (WebKit's processes may
		# still write there as the session ends: the caller's folder outlives it).
		options.add_argument(f"--data={app_messages.parent / 'app-data'}")
	else:
		options.binary_location = MINIBROWSER
		options.add_argument("--enable-itp")
	driver = webdriver.WebKitGTK(options=options, service=service)
	try:
		if not app_messages:
			driver.set_window_rect(width=VIEWPORT[0], height=VIEWPORT[1] + TOOLBAR)
		yield driver
	finally:
		driver.quit()
