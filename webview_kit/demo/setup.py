"""Install the demo on a site: its DocType, made live."""

import json
from pathlib import Path

import frappe

from webview_kit.settings import DOCTYPE as SETTINGS
from webview_kit.webview_kit.doctype.webview_settings.webview_settings import lines

DEMO_DOCTYPE = "Webview Demo Task"
DEFINITION = Path(__file__).with_name("webview_demo_task.json")


def install() -> None:
	"""Create the demo DocType unless it exists, and list it among the live DocTypes."""
	if not frappe.db.exists("DocType", DEMO_DOCTYPE):
		frappe.get_doc(json.loads(DEFINITION.read_text())).insert(ignore_permissions=True)
	settings = frappe.get_single(SETTINGS)
	live = lines(settings.live_doctypes)
	if DEMO_DOCTYPE not in live:
		settings.live_doctypes = "\n".join([*live, DEMO_DOCTYPE])
		settings.save(ignore_permissions=True)
	frappe.db.commit()
