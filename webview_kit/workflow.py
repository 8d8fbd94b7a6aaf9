"""The workflow webview: a document's Frappe Workflow state, its transitions as actions, comments.

`/webview/workflow?doctype=&name=` shows the state of a live document under an active
Workflow and a button per transition the user's roles allow; a tap runs
`apply_transition`, which applies it with Frappe's own `apply_workflow` (its role,
condition, self-approval and write-permission checks) exactly once. The save publishes
`webview_kit.doc`, with the state (live.py), so every page on the document follows.
Comments are an action too; each one is published to the document's room after commit.
"""

from __future__ import annotations

import html

import frappe
from frappe.model.workflow import apply_workflow, get_workflow, get_workflow_name
from frappe.utils import escape_html, get_fullname, pretty_date, strip_html

from webview_kit import live
from webview_kit.actions import action
from webview_kit.publish import Room, publish

__all__ = ["EVENT_COMMENT", "ROUTE", "add_comment", "apply_transition", "document_rooms", "page"]

ROUTE = "/webview/workflow"
EVENT_COMMENT = "webview_kit.comment"
MAX_COMMENT = 2000
RECENT_COMMENTS = 20


class StaleState(frappe.ValidationError):
	"""The document left the state the page showed before the tap arrived."""

	http_status_code = 409


def document_rooms(doctype: str, name: str) -> list[Room]:
	return [Room.of_doc(doctype, name)]


def workflow_of(doctype: str):
	"""The active Workflow of `doctype`; PermissionError when it has none (no page to show)."""
	if not get_workflow_name(doctype):
		raise frappe.PermissionError(f"{doctype} has no active workflow")
	return get_workflow(doctype)


def page(doc) -> dict:
	"""What the workflow page renders for `doc`: its state, the transitions, recent comments.

	Every transition the user's roles allow is rendered, each shown only while the document
	is in its `from` state, so a state change needs no further request; whether it applies
	(conditions, self-approval, write permission) is Frappe's decision when tapped.
	"""
	flow = workflow_of(doc.doctype)
	roles = set(frappe.get_roles())
	transitions = [
		{
			"action": t.action,
			"state": t.state,
			"args": {"doctype": doc.doctype, "name": doc.name, "transition": t.action, "state": t.state},
		}
		for t in flow.transitions
		if t.allowed in roles
	]
	return {
		"state_field": flow.workflow_state_field,
		"state": doc.get(flow.workflow_state_field) or "",
		"transitions": transitions,
		"comments": recent_comments(doc.doctype, doc.name),
	}


def recent_comments(doctype: str, name: str) -> list[dict]:
	rows = frappe.get_all(
		"Comment",
		filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Comment"},
		fields=["name", "content", "comment_email", "creation"],
		order_by="creation desc",
		limit=RECENT_COMMENTS,
	)
	return [_comment(row) for row in reversed(rows)]


def _comment(row) -> dict:
	return {
		"name": row.name,
		"text": html.unescape(strip_html(row.content or "")).strip(),
		"by": get_fullname(row.comment_email),
		"when": pretty_date(row.creation),
	}


# Read to see the page; the transition's roles, conditions and write permission are
# apply_workflow's own checks, with Frappe's own refusals.
@action(route=ROUTE, rooms=document_rooms, permission="read")
def apply_transition(doctype: str, name: str, transition: str, state: str) -> dict:
	"""Apply workflow `transition` to the document if it is still in `state` (what the page showed)."""
	live.check_read(doctype, name)
	field = workflow_of(doctype).workflow_state_field
	# Locked: of two devices tapping at once, the second waits, then sees the new state.
	current = frappe.db.get_value(doctype, name, field, for_update=True)
	if current != state:
		raise StaleState(f"This is {current} now, not {state}: someone else moved it. Look again.")
	doc = apply_workflow({"doctype": doctype, "name": name}, transition)
	return {"state": doc.get(field)}


def _readable_doc(doctype: str, name: str):
	"""The live document, loaded once; the same refusal as live.check_read for missing and not yours."""
	if not live.is_live(doctype):
		raise frappe.PermissionError(f"{doctype} is not a live DocType")
	try:
		doc = frappe.get_doc(doctype, name)
	except frappe.DoesNotExistError:
		doc = None
	if doc is None or not frappe.has_permission(doctype, "read", doc=doc):
		raise frappe.PermissionError("You cannot open this document")
	return doc


@action(route=ROUTE, rooms=document_rooms, permission="read")
def add_comment(doctype: str, name: str, text: str) -> dict:
	"""Add a comment to the document (read access is enough, as on Frappe's desk)."""
	text = text.strip()
	if not text or len(text) > MAX_COMMENT:
		frappe.throw(f"Write a comment of 1 to {MAX_COMMENT} characters.", frappe.ValidationError)
	comment = _readable_doc(doctype, name).add_comment("Comment", escape_html(text))
	shown = _comment(comment)
	publish(Room.of_doc(doctype, name), EVENT_COMMENT, shown, after_commit=True)
	return shown
