"""The product alone: `install-app webview_kit` on a new site brings no demo with it.

Nor any of its reach: on that site the demo's and the test app's actions do not exist and
the demo's page is not served. The front serves the stack's site only, so requests to the
other site go through its own WSGI app, by `bench execute` (webview_kit/tests/support.py).
"""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture(scope="module")
def site_with_the_app_only(stack):
	"""A second site of the running stack, created with webview_kit alone; dropped afterwards."""
	site = f"only-app-{uuid.uuid4().hex[:6]}.localhost"
	stack.new_site(site)
	try:
		yield site
	finally:
		stack.drop_site(site)


def exists(stack, site: str, doctype: str, name: str) -> str | None:
	"""`frappe.db.exists(doctype, name)` on `site`, as `bench execute` prints it (JSON; nothing for None)."""
	argv = ["execute", "frappe.db.exists", "--args", json.dumps([doctype, name])]
	printed = stack.site_output(argv, site=site).strip()
	return json.loads(printed or "null")


def test_install_app_alone_installs_no_demo(stack, site_with_the_app_only):
	assert exists(stack, site_with_the_app_only, "DocType", "Webview Settings") == "Webview Settings"
	assert exists(stack, site_with_the_app_only, "DocType", "Webview Demo Task") is None
	assert exists(stack, stack.site, "DocType", "Webview Demo Task") == "Webview Demo Task", "the control"


def probe(stack, site: str, path: str, **kwargs) -> dict:
	"""A request through `site`'s Frappe app: `{"status": ..., "text": ...}`."""
	# `bench execute` reads its --kwargs as a Python literal, not JSON.
	argv = ["execute", "webview_kit.tests.support.probe", "--kwargs", repr({"path": path, **kwargs})]
	return json.loads(stack.site_output(argv, site=site).strip().splitlines()[-1])


# Each with arguments that fit its signature: only "there is no such action" is a 404.
DEMO_ACTIONS = {
	"webview_kit_demo.orders.deliver": {"name": "x"},
	"webview_kit_testing.actions.slow_comment": {"doctype": "ToDo", "name": "x", "text": "t", "seconds": 15},
	"webview_kit.demo.actions.slow_comment": {"doctype": "ToDo", "name": "x", "text": "t", "seconds": 15},
	"webview_kit.demo.orders.deliver": {"name": "x"},
	# a server test's own action (it inserts a ToDo and sleeps `pause`): in the product's package
	"webview_kit.tests.test_actions.note": {"name": "x", "pause": 15},
}


def act(stack, site: str, name: str, args: dict) -> dict:
	data = {"action": name, "id": uuid.uuid4().hex, "args": json.dumps(args)}
	return probe(stack, site, "/api/method/webview_kit.api.act", method="POST", as_admin=True, data=data)


@pytest.mark.parametrize("name", list(DEMO_ACTIONS))
def test_demo_and_test_actions_do_not_exist_on_a_site_with_the_product_only(
	stack, site_with_the_app_only, name
):
	answer = act(stack, site_with_the_app_only, name, DEMO_ACTIONS[name])
	assert answer["status"] == 404, answer
	assert "No webview action named" in answer["text"]


def test_the_demo_actions_exist_where_the_demo_is_installed(stack):
	"""The control: the same request on the stack's site (demo and test app installed) finds them."""
	for name in ("webview_kit_demo.orders.deliver", "webview_kit_testing.actions.slow_comment"):
		answer = act(stack, stack.site, name, {"wrong": 1})
		assert answer["status"] == 400 and "Unknown argument" in answer["text"], answer


def test_the_demo_page_is_not_served_on_a_site_with_the_product_only(stack, site_with_the_app_only):
	assert probe(stack, site_with_the_app_only, "/webview/order?name=x", as_admin=True)["status"] == 404
	assert probe(stack, site_with_the_app_only, "/webview/count", as_admin=True)["status"] == 200, (
		"the control"
	)
