"""What the template, bridge and page-weight tests share: two phones, people, an editor, screenshots.

A module marked `pytestmark = pytest.mark.phones` runs each of its browser tests once per
phone in DEVICES (conftest.py's `phone` fixture); its people are one set per phone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import requests
from playwright.sync_api import Page, expect

DEVICES = {"iphone": "iPhone 13", "pixel": "Pixel 7"}
LIVE_TIMEOUT = 15_000
EVENT_TIMEOUT = 15_000
TASK = "Webview Demo Task"
PEOPLE = ("Ana", "Ben")
EDITOR = "tpl-editor@webview-kit.test"
SCREENSHOTS = Path(os.environ.get("WEBVIEW_KIT_SCREENSHOTS") or "test-results/screenshots")

# Layout Instability API: every shift of visible content, as the page sees it.
RECORD_LAYOUT_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
	for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
}).observe({ type: "layout-shift", buffered: true });
"""


class Editor:
	"""A desk user (System Manager) changing demo tasks over REST, as someone in the office would."""

	def __init__(self, url: str, key: str):
		self.url = url
		self.http = requests.Session()
		self.http.headers.update({"Authorization": f"token {key}", "Accept": "application/json"})

	def _ok(self, response: requests.Response) -> dict:
		assert response.ok, f"{response.status_code} {response.url}: {response.text[:500]}"
		return response.json()

	def create(self, title: str, share_with: tuple[str, ...] = (), **fields) -> str:
		doc = self._ok(self.http.post(f"{self.url}/api/resource/{TASK}", json={"title": title, **fields}))
		for user in share_with:
			self.share(doc["data"]["name"], user)
		return doc["data"]["name"]

	def update(self, name: str, **fields) -> None:
		self._ok(self.http.put(f"{self.url}/api/resource/{TASK}/{quote(name)}", json=fields))

	def delete(self, name: str) -> None:
		self._ok(self.http.delete(f"{self.url}/api/resource/{TASK}/{quote(name)}"))

	def share(self, name: str, user: str) -> None:
		data = {"doctype": TASK, "name": name, "user": user, "read": 1}
		self._ok(self.http.post(f"{self.url}/api/method/frappe.share.add", data=data))

	def unshare(self, name: str, user: str) -> None:
		data = {"doctype": TASK, "name": name, "user": user, "permission_to": "read", "value": 0}
		self._ok(self.http.post(f"{self.url}/api/method/frappe.share.set_permission", data=data))

	def delete_tasks_of(self, user: str) -> None:
		"""Delete every demo task shared with `user` (what earlier tests and runs left)."""
		params = {
			"filters": json.dumps([["user", "=", user], ["share_doctype", "=", TASK]]),
			"fields": json.dumps(["share_name"]),
			"limit_page_length": 0,
		}
		shares = self._ok(self.http.get(f"{self.url}/api/resource/DocShare", params=params))["data"]
		# Frappe keeps the shares of deleted documents: delete only the tasks still there.
		params = {"filters": json.dumps([["name", "in", [share["share_name"] for share in shares]]])}
		for task in self._ok(self.http.get(f"{self.url}/api/resource/{TASK}", params=params))["data"]:
			self.delete(task["name"])


class People:
	"""Website users with distinct first names (presence shows names), one set per phone."""

	def __init__(self, stack):
		self.stack = stack
		for first in PEOPLE:
			emails = [self.email(first, device) for device in DEVICES]
			stack.site_output(
				[
					"webview",
					"ensure-user",
					"--first-name",
					first,
					*(a for e in emails for a in ("--email", e)),
				]
			)
			# What a stack kept running since an earlier run still holds for them.
			stack.site_output(["webview", "forget", *(a for e in emails for a in ("--user", e))])
		line = stack.site_output(
			[
				"webview",
				"ensure-user",
				"--email",
				EDITOR,
				"--first-name",
				"Erin",
				"--role",
				"System Manager",
				"--role",
				"Website Manager",
				"--api-key",
			]
		)
		self.editor = Editor(stack.url, line.split()[-1])

	@staticmethod
	def email(first: str, device: str) -> str:
		return f"tpl-{first.lower()}-{device}@webview-kit.test"


def link(accounts, user: str, route: str, **params) -> str:
	"""A deep link for `user` to `route` with the page's `params`, signed into the link."""
	return accounts.link(user, route=route, params={k: str(v) for k, v in params.items()})


def open_page(page: Page, url: str, route: str) -> None:
	"""Open a deep link and wait until the page it lands on is live."""
	page.goto(url)
	expect(page).to_have_url(re.compile(re.escape(route) + r"(\?|$)"))
	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=LIVE_TIMEOUT)


def screenshot(page: Page, name: str, phone: str) -> Path:
	"""Save what the phone shows as `<name>-<phone>.png` (at CSS pixels, so files stay small)."""
	SCREENSHOTS.mkdir(parents=True, exist_ok=True)
	path = SCREENSHOTS / f"{name}-{phone}.png"
	page.screenshot(path=path, scale="css", animations="disabled", caret="hide")
	return path


def layout_shifts(page: Page) -> list[float]:
	"""Layout shifts recorded so far (pages opened after `page.add_init_script(RECORD_LAYOUT_SHIFTS)`)."""
	return page.evaluate("window.__shifts")


ORDER = "Webview Demo Order"


class Orders:
	"""The demo order, changed the ways a shop changes it: the desk's REST API and jobs."""

	def __init__(self, stack, editor):
		self.stack, self.editor = stack, editor

	def create(self, customer: str, share_with: str) -> str:
		printed = self.execute("create", customer=customer, share_with=share_with)
		return json.loads(printed.strip().splitlines()[-1])

	def update(self, name: str, **fields) -> None:
		self.editor._ok(self.editor.http.put(f"{self.editor.url}/api/resource/{ORDER}/{name}", json=fields))

	def log(self, name: str, count: int, interval: float = 0.0, prefix: str = "Note") -> None:
		self.execute("log", name=name, count=count, interval=interval, prefix=prefix)

	def start_log(self, name: str, count: int, interval: float, log_path):
		kwargs = json.dumps({"name": name, "count": count, "interval": interval, "prefix": "Step"})
		return self.stack.site_process(
			["execute", "webview_kit_demo.orders.log", "--kwargs", kwargs], log_path
		)

	def eta(self, name: str, eta: str) -> None:
		args = json.dumps([f"doc:{ORDER}/{name}", "webview_demo.eta", {"eta": eta}])
		self.stack.site_output(["execute", "webview_kit.publish.publish", "--args", args])

	def execute(self, function: str, **kwargs) -> str:
		return self.stack.site_output(
			["execute", f"webview_kit_demo.orders.{function}", "--kwargs", json.dumps(kwargs)]
		)
