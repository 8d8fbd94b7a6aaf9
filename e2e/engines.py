"""The WebKit lane's page handle and fixtures: WebKitGTK through WebDriver, under Xvfb.

Playwright drives the Chromium suite; WebKit is driven by Selenium (stack/webkit.py).
`WebKitPage` offers the handful of operations the lane's tests use, with Playwright's
meaning, so the suite's page checks (`webview.applied`, `assert_every_count_once_in_order`,
the fragment comparison, ...) run on it unchanged. Every wait is a WebDriverWait on state
the page exposes; nothing sleeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from stack.webkit import webkit_display, webkit_driver

__all__ = ["WebKitAppPage", "WebKitPage", "webkit", "webkit_app", "webkit_screen", "webkit_user"]

RESULTS = Path("test-results")
LIVE_TIMEOUT = 15_000
WORKER_ROLE = "Webview Demo Worker"  # webview_kit/demo/setup.py


class WebKitPage:
	"""One WebKit page: open, read, act on and wait for what a webview page shows.

	Timeouts are in milliseconds, as in Playwright.
	"""

	def __init__(self, driver, base_url: str):
		self.driver = driver
		self.base_url = base_url

	def goto(self, url: str) -> None:
		"""Load `url` (relative to the stack's front) and wait for its load event."""
		self.driver.get(url if "://" in url else self.base_url + url)

	def open_live(self, url: str, route: str = "/webview/count") -> None:
		"""Open a deep link as the app would: it lands on `route` without its token, then goes live."""
		self.goto(url)
		assert re.search(re.escape(route) + r"(\?|$)", self.url) and "wvt=" not in self.url, self.url
		self.wait_for_realtime("live", LIVE_TIMEOUT)

	@property
	def url(self) -> str:
		return self.driver.current_url

	def evaluate(self, expression: str, arg=None):
		"""Evaluate a JS expression, or call a JS function with `arg`, awaiting a promise.

		WebDriver runs it as the automation, which the page's content security policy
		does not govern (the policy forbids the page itself to evaluate strings).
		"""
		# As in Playwright: a string that evaluates to a function is called with `arg`.
		script = (
			"const arg = arguments[0], done = arguments[arguments.length - 1];"
			f"Promise.resolve().then(() => {{ const value = ({expression});"
			" return typeof value === 'function' ? value(arg) : value; }).then("
			"(value) => done({value: value === undefined ? null : value}),"
			"(error) => done({error: `${error}\\n${(error && error.stack) || ''}`}));"
		)
		answer = self.driver.execute_async_script(script, arg)
		if "error" in answer:
			raise AssertionError(f"{expression}: {answer['error']}")
		return answer["value"]

	def evaluate_on(self, selector: str, function: str, arg=None):
		"""Call the JS `function(element, arg)` on the first element matching `selector`."""
		return self.evaluate(f"([s, a]) => ({function})(document.querySelector(s), a)", [selector, arg])

	def attribute(self, selector: str, name: str) -> str | None:
		return self.evaluate_on(selector, "(el, name) => el && el.getAttribute(name)", name)

	def text(self, test_id: str) -> str | None:
		return self.evaluate_on(f"[data-testid={test_id!r}]", "(el) => el && el.textContent.trim()")

	def element(self, selector: str):
		return self.driver.find_element(By.CSS_SELECTOR, selector)

	def click(self, selector: str) -> None:
		self.element(selector).click()

	def double_click(self, selector: str) -> None:
		ActionChains(self.driver).double_click(self.element(selector)).perform()

	def type(self, selector: str, text: str) -> None:
		"""Type `text` key by key into the element, as a person would."""
		self.element(selector).send_keys(text)

	def keys(self, text: str) -> None:
		"""Press the keys of `text` where the focus is, leaving the caret where the page has it.

		Element Send Keys would first put the caret at the end of a field without focus.
		"""
		ActionChains(self.driver).send_keys(text).perform()

	def wait_until(
		self, condition: Callable[[], object], timeout: float = 15_000, what: str | Callable[[], str] = ""
	) -> object:
		"""Return `condition()` once it is truthy; fail naming `what` (or what it returns) after `timeout` ms."""
		wait = WebDriverWait(self.driver, timeout / 1000, poll_frequency=0.05)
		try:
			return wait.until(lambda _driver: condition())
		except TimeoutException:
			raise AssertionError(
				f"not within {timeout:.0f} ms: {what() if callable(what) else what}"
			) from None

	def wait_for(self, expression: str, timeout: float = 15_000):
		"""Wait until the JS `expression` is truthy in the page."""
		return self.wait_until(lambda: self.evaluate(expression), timeout, expression)

	def wait_for_attribute(self, selector: str, name: str, value: str, timeout: float = 15_000) -> None:
		seen = []
		self.wait_until(
			lambda: seen.append(self.attribute(selector, name)) or seen[-1] == value,
			timeout,
			lambda: f"{selector}[{name}] is {value!r} (last seen {seen[-1:]})",
		)

	def wait_for_realtime(self, state: str, timeout: float = 15_000) -> None:
		self.wait_for_attribute("body", "data-realtime", state, timeout)

	def wait_for_text(self, test_id: str, text: str | re.Pattern, timeout: float = 15_000) -> None:
		seen = []

		def shown() -> bool:
			seen.append(self.text(test_id))
			return seen[-1] is not None and (
				text.search(seen[-1]) if isinstance(text, re.Pattern) else seen[-1] == text
			)

		self.wait_until(shown, timeout, lambda: f"{test_id} shows {text!r} (last seen {seen[-1:]})")

	def screenshot(self, path: Path) -> Path:
		path.parent.mkdir(parents=True, exist_ok=True)
		self.driver.get_screenshot_as_file(str(path))
		return path


class WebKitAppPage(WebKitPage):
	"""A page in the app stand-in (stack/webkit-host): what it posts reaches the app natively."""

	def __init__(self, driver, base_url: str, messages: Path):
		super().__init__(driver, base_url)
		self.messages = messages

	def posted(self) -> list[dict]:
		"""Every message the page posted to `webkit.messageHandlers.webviewKit`, in order."""
		text = self.messages.read_text() if self.messages.exists() else ""
		return [json.loads(line) for line in text.splitlines()]

	def wait_for_posted(self, type_: str, timeout: float = 15_000) -> list[dict]:
		"""The payloads of the messages of `type_` the app got, once there is one."""
		payloads = lambda: [m["payload"] for m in self.posted() if m["type"] == type_]  # noqa: E731
		return self.wait_until(payloads, timeout, f"the app gets a {type_!r} message")


@pytest.fixture(scope="session")
def webkit_screen() -> Iterator[None]:
	"""Xvfb, from the first WebKit test of the run to the end of the run."""
	with webkit_display():
		yield


@pytest.fixture
def webkit(webkit_screen, base_url, request, tmp_path) -> Iterator[WebKitPage]:
	"""A page in a fresh WebKitGTK browser (no cookies, empty cache), closed afterwards.

	On failure, what the page showed is saved in test-results/.
	"""
	failed = request.session.testsfailed
	with webkit_driver(str(tmp_path / "webkitwebdriver.log")) as driver:
		page = WebKitPage(driver, base_url)
		yield page
		if request.session.testsfailed > failed:
			name = re.sub(r"[^\w.-]+", "-", request.node.name)
			page.screenshot(RESULTS / f"webkit-{name}.png")


@pytest.fixture
def webkit_app(webkit_screen, base_url, tmp_path) -> Iterator[WebKitAppPage]:
	"""A page in a fresh WebKitGTK WebView that an app hosts, as WKWebView hosts the page."""
	messages = tmp_path / "posted.jsonl"
	with webkit_driver(str(tmp_path / "webkitwebdriver.log"), app_messages=messages) as driver:
		yield WebKitAppPage(driver, base_url, messages)


@pytest.fixture(scope="session")
def webkit_user(stack) -> str:
	"""Ana, a demo worker the WebKit lane's tests share (each takes its own documents)."""
	user = "wk-ana@webview-kit.test"
	stack.site_output(
		["webview", "ensure-user", "--first-name", "Ana", "--role", WORKER_ROLE, "--email", user]
	)
	return user
