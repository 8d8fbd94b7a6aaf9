"""Install the demo on a site: its DocType, made live, with a small Frappe Workflow."""

import json
from pathlib import Path

import frappe

from webview_kit.settings import DOCTYPE as SETTINGS
from webview_kit.settings import lines
from webview_kit_demo import orders

DEMO_DOCTYPE = "Webview Demo Task"
DEFINITION = Path(__file__).with_name("webview_demo_task.json")
WORKFLOW = "Webview Demo Task Flow"
WORKER_ROLE = "Webview Demo Worker"  # may move tasks along; demo users get it
# state: the Status it sets (None: leaves Status alone)
STATES = {"Open": "Open", "In Progress": "Working", "Done": "Done", "Rejected": None}
TRANSITIONS = [  # (from, action, to)
	("Open", "Start", "In Progress"),
	("Open", "Reject", "Rejected"),
	("In Progress", "Finish", "Done"),
	("In Progress", "Reject", "Rejected"),
]


def check_product() -> None:
	"""Refuse to install the demo on a site without webview_kit, whose settings it changes."""
	if "webview_kit" not in frappe.get_installed_apps():
		frappe.throw("Install webview_kit on this site first: the demo is built on it.")


def install() -> None:
	"""Create the demo DocTypes unless they exist, and list the task among the live DocTypes."""
	if not frappe.db.exists("DocType", DEMO_DOCTYPE):
		frappe.get_doc(json.loads(DEFINITION.read_text())).insert(ignore_permissions=True)
	else:
		add_new_fields()
	orders.install()
	settings = frappe.get_single(SETTINGS)
	live = lines(settings.live_doctypes)
	if DEMO_DOCTYPE not in live:
		settings.live_doctypes = "\n".join([*live, DEMO_DOCTYPE])
		settings.save(ignore_permissions=True)
	install_workflow()
	frappe.db.commit()


def add_new_fields() -> None:
	"""Add to an installed demo task the fields its definition gained since (the image)."""
	definition = json.loads(DEFINITION.read_text())
	doctype = frappe.get_doc("DocType", DEMO_DOCTYPE)
	have = {df.fieldname for df in doctype.fields}
	missing = [df for df in definition["fields"] if df["fieldname"] not in have]
	if missing:
		for df in missing:
			doctype.append("fields", df)
		doctype.image_field = definition.get("image_field")
		doctype.save(ignore_permissions=True)


def install_workflow() -> None:
	"""Create the worker role, the states and actions, and the active Workflow, unless there."""
	if not frappe.db.exists("Role", WORKER_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": WORKER_ROLE, "desk_access": 0}).insert(
			ignore_permissions=True
		)
	for state in STATES:
		if not frappe.db.exists("Workflow State", state):
			frappe.get_doc({"doctype": "Workflow State", "workflow_state_name": state}).insert(
				ignore_permissions=True
			)
	for name in {action for _from, action, _to in TRANSITIONS}:
		if not frappe.db.exists("Workflow Action Master", name):
			frappe.get_doc({"doctype": "Workflow Action Master", "workflow_action_name": name}).insert(
				ignore_permissions=True
			)
	if frappe.db.exists("Workflow", WORKFLOW):
		return
	states = [
		{"state": state, "doc_status": "0", "allow_edit": "System Manager"}
		| ({"update_field": "status", "update_value": status} if status else {})
		for state, status in STATES.items()
	]
	transitions = [
		{"state": src, "action": act, "next_state": dst, "allowed": WORKER_ROLE, "allow_self_approval": 1}
		for src, act, dst in TRANSITIONS
	]
	frappe.get_doc(
		{
			"doctype": "Workflow",
			"workflow_name": WORKFLOW,
			"document_type": DEMO_DOCTYPE,
			"workflow_state_field": "workflow_state",
			"is_active": 1,
			"send_email_alert": 0,
			"states": states,
			"transitions": transitions,
		}
	).insert(ignore_permissions=True)
