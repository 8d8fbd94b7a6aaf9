"""The product alone: `install-app webview_kit` on a new site brings no demo with it."""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture
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
