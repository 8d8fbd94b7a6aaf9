"""Publish changes of documents to the webviews that show them.

A DocType listed in the *Webview Settings* "Live DocTypes" or in the
`webview_live_doctypes` hook of an app is live:

- each save publishes `webview_kit.doc` (the fields a document page shows) to the
  document's room, `doc:<doctype>/<name>`, and a delete publishes `webview_kit.doc_deleted`;
- each save, delete, share and unshare pushes the document's list row, a fragment
  (`webview_kit.list_rows:<DocType>`, see fragments.py), to the user room of every user it
  concerns (the owner and everyone it is shared with): the row, rendered once and put in
  place of the old one, when `frappe.has_permission` lets that user read the document
  now, else its removal;
- each save renders the fragments an app declared for the DocType into its room (for
  any DocType, live or not: declaring a fragment with a `doctype` is the opt-in).

Rows go to user rooms rather than one room per DocType because read permission is
decided per document and per user: a shared list room would hand every row to anyone
who may read the DocType at all. A live list page therefore only ever holds rows its
user may read, and loses a row the moment it is unshared.

Events are published once the transaction commits, all in one Redis round trip, and
never fail the save that caused them: one that cannot be published is logged.

To make your DocType live, list it in your app's `hooks.py`::

    webview_live_doctypes = ["Sales Order"]

Users a document concerns beyond its owner and shares (a `customer` link, say) are
not found automatically; publish their rows yourself with `row_events(doc, users)`.
A fragment that does not render is logged, like an event that cannot be published.
"""

from __future__ import annotations

import dataclasses
import json

import frappe
from frappe import _
from frappe.model import no_value_fields, table_fields
from frappe.utils import get_fullname

from webview_kit import fragments, settings
from webview_kit.publish import Event, PublishError, doc_room, forget, publish_many, user_room
from webview_kit.rooms import Room

__all__ = [
	"EVENT_DOC",
	"EVENT_DOC_DELETED",
	"after_delete",
	"after_rename",
	"check_read",
	"display_fields",
	"doc_files",
	"doc_state",
	"is_live",
	"list_columns",
	"list_fields",
	"list_rows",
	"list_target",
	"on_change",
	"on_trash",
	"row_events",
	"title_field",
	"workflow_state_field",
]

EVENT_DOC = "webview_kit.doc"
EVENT_DOC_DELETED = "webview_kit.doc_deleted"
LIST_FRAGMENT = "webview_kit.list_rows"
MAX_FIELDS = 12
MAX_TEXT = 2000  # characters of one value; keeps an event well under the payload limit
LIST_LIMIT = 50
SKIPPED_TYPES = {"Password", "Attach Image", "Signature", "Geolocation", "JSON"}


def is_live(doctype: str) -> bool:
	return doctype in settings.live_doctypes()


# -- what pages show ------------------------------------------------------------
def display_fields(doctype: str) -> list[dict]:
	"""The fields a document page shows: visible, unrestricted fields holding a value."""
	meta = frappe.get_meta(doctype)
	fields = [
		{"fieldname": df.fieldname, "label": df.label or df.fieldname, "fieldtype": df.fieldtype}
		for df in meta.fields
		if df.fieldtype not in no_value_fields
		and df.fieldtype not in table_fields
		and df.fieldtype not in SKIPPED_TYPES
		and not df.hidden
		and not df.permlevel
	]
	return fields[:MAX_FIELDS]


def list_fields(doctype: str) -> list[str]:
	"""The columns of a live list: the title field, then the fields shown in list view."""
	meta = frappe.get_meta(doctype)
	names = [meta.title_field] if meta.title_field and meta.title_field != "name" else []
	names += [df.fieldname for df in meta.fields if df.in_list_view and not df.permlevel]
	return list(dict.fromkeys(names))


def _plain(values: dict) -> dict:
	"""`values` as JSON types (dates as ISO strings), long texts cut short."""
	values = json.loads(frappe.as_json(values))
	return {k: _short(v) for k, v in values.items()}


def _short(value):
	if isinstance(value, str):
		return value[:MAX_TEXT]
	if isinstance(value, float) and value.is_integer():
		return int(value)  # a Percent of 60.0 shows as 60
	return value


def doc_state(doc) -> dict:
	"""What a document page shows of `doc`, and what `webview_kit.doc` carries."""
	state = {f["fieldname"]: doc.get(f["fieldname"]) for f in display_fields(doc.doctype)}
	# Frappe hides a workflow's state field; workflow pages show it, so it always travels.
	if field := workflow_state_field(doc.doctype):
		state[field] = doc.get(field)
	state.update(
		doctype=doc.doctype,
		name=doc.name,
		modified=doc.modified,
		modified_by=doc.modified_by,
		modified_by_name=get_fullname(doc.modified_by),
		docstatus=doc.docstatus,
	)
	return _plain(state)


def doc_files(doc) -> dict:
	"""The image and the attachments a document page shows of `doc` (what a deep link may fetch)."""
	meta = frappe.get_meta(doc.doctype)
	image_field = meta.image_field or next(
		(df.fieldname for df in meta.fields if df.fieldtype == "Attach Image"), None
	)
	image = (image_field and doc.get(image_field)) or None
	attached = frappe.get_all(
		"File",
		filters={"attached_to_doctype": doc.doctype, "attached_to_name": doc.name, "is_folder": 0},
		fields=["file_name", "file_url"],
		order_by="creation asc",
	)
	seen, attachments = {image}, []
	for file in attached:
		if file.file_url not in seen:
			seen.add(file.file_url)
			attachments.append({"file_name": file.file_name or file.file_url, "file_url": file.file_url})
	return {"image": image, "attachments": attachments}


def workflow_state_field(doctype: str) -> str | None:
	"""The state field of `doctype`'s active Frappe Workflow, or None (both cached by Frappe)."""
	from frappe.model.workflow import get_workflow_name, get_workflow_state_field

	workflow = get_workflow_name(doctype)
	return get_workflow_state_field(workflow) if workflow else None


def list_target(doctype: str) -> str:
	"""The fragment target of `doctype`'s live list."""
	return f"{LIST_FRAGMENT}:{doctype}"


def list_columns(doctype: str) -> tuple[str, list[str]]:
	"""What a list row shows: its title field, and the fields shown as chips."""
	fields = list_fields(doctype)
	return (fields[0] if fields else "name"), fields[1:]


def row(doc) -> dict:
	return _plain(
		{"name": doc.name, "modified": doc.modified, **{f: doc.get(f) for f in list_fields(doc.doctype)}}
	)


def requested_doctype(params: dict) -> str:
	"""The live DocType a page's `params` name (`doctype`); without one, the only live DocType."""
	doctype = params.get("doctype")
	if not doctype:
		live = settings.live_doctypes()
		if len(live) != 1:
			frappe.throw("Name the DocType: ?doctype=<a live DocType>", frappe.ValidationError)
		(doctype,) = live
	if not is_live(doctype):
		raise frappe.PermissionError(f"{doctype} is not a live DocType")
	return doctype


def requested_doc_room(params: dict) -> tuple[str, str, str]:
	"""The document a page's `params` name (`doctype`, `name`), checked readable, and its room."""
	doctype = requested_doctype(params)
	name = params.get("name")
	check_read(doctype, name)
	return doctype, name, doc_room(doctype, name)


def check_read(doctype: str, name: str) -> None:
	"""Raise PermissionError unless the session user may read this live document."""
	if not is_live(doctype):
		raise frappe.PermissionError(f"{doctype} is not a live DocType")
	# The same answer for "missing" and "not yours": names are not to be probed.
	if not name or not Room.of_doc(doctype, name).readable_by(frappe.session.user):
		raise frappe.PermissionError(_("You cannot open this document"))


def title_field(doctype: str) -> str:
	return frappe.get_meta(doctype).title_field or "name"


def list_rows(doctype: str, limit: int = LIST_LIMIT) -> list[dict]:
	"""The newest rows of `doctype` the session user may read (none if they may read none)."""
	if not is_live(doctype):
		raise frappe.PermissionError(f"{doctype} is not a live DocType")
	try:
		rows = frappe.get_list(
			doctype,
			fields=["name", "modified", *list_fields(doctype)],
			order_by="modified desc",
			limit_page_length=limit,
		)
	except frappe.PermissionError:
		return []
	return [_plain(r) for r in rows]


# -- who a document concerns ------------------------------------------------------
def audience(doc) -> set[str]:
	"""Users whose lists may hold `doc`: its owner and everyone it is shared with."""
	shared = frappe.get_all(
		"DocShare",
		filters={"share_doctype": doc.doctype, "share_name": doc.name, "everyone": 0},
		pluck="user",
	)
	return {u for u in (doc.owner, *shared) if u and u != "Guest"}


def row_events(doc, users, deleted: bool = False) -> list[Event]:
	"""For each of `users`, `doc`'s list row where they may read it, else its removal.

	The row is rendered once, for all of them; a row already in a list is updated in place.
	"""
	target = list_target(doc.doctype)
	shown = None
	events = []
	for user in sorted(users):
		room = user_room(user)
		if not deleted and frappe.has_permission(doc.doctype, "read", doc=doc, user=user):
			if shown is None:
				title, chips = list_columns(doc.doctype)
				context = {"row": row(doc), "doctype": doc.doctype, "title_field": title, "chips": chips}
				shown = fragments.fragment_event(room, target, context, op="prepend")
			events.append(dataclasses.replace(shown, room=room))
		else:
			events.append(fragments.fragment_event(room, target, op="remove", item=f"wvk-row-{doc.name}"))
	return events


def _publish_after_commit(events: list[Event], forgetting: str | None = None) -> None:
	"""Publish `events` once the transaction commits; then forget room `forgetting`, if given."""

	def send():
		try:
			if events:
				publish_many(events, retries=2)
			if forgetting:
				forget(forgetting)
		except PublishError:
			frappe.log_error(title="webview_kit: live update not published")

	frappe.db.after_commit.add(send)


def _rendered(build) -> list[Event]:
	"""The fragment events `build` makes; none if one does not render (logged, the save goes on)."""
	try:
		return build()
	except PublishError:
		frappe.log_error(title="webview_kit: live fragment not rendered")
		return []


# -- doc_events (hooks.py: "*") ---------------------------------------------------
def on_change(doc, method=None) -> None:
	"""Publish a saved live document, or a changed share of one."""
	if doc.flags.in_delete:
		return
	if doc.doctype == "DocShare":
		return _on_share(doc)
	if not is_live(doc.doctype):
		if events := _rendered(lambda: fragments.doc_fragment_events(doc)):
			_publish_after_commit(events)
		return
	events = [Event(doc_room(doc.doctype, doc.name), EVENT_DOC, doc_state(doc))]
	events += _rendered(lambda: row_events(doc, audience(doc)) + fragments.doc_fragment_events(doc))
	_publish_after_commit(events)


def on_trash(doc, method=None) -> None:
	"""Tell a deleted live document's page and lists, then forget its room.

	Any document's room is forgotten, live or not: a new document that takes the name
	must not show its readers the old one's history. Its shares still name who to tell.
	"""
	room = doc_room(doc.doctype, doc.name)
	events = []
	if is_live(doc.doctype):
		events = [Event(room, EVENT_DOC_DELETED, {"name": doc.name})]
		events += _rendered(lambda: row_events(doc, audience(doc), deleted=True))
	_publish_after_commit(events, forgetting=room)


def after_rename(doc, method=None, old=None, new=None, merge=False) -> None:
	"""Forget the room of a document's old name: a new document may take that name."""
	if old:
		_publish_after_commit([], forgetting=doc_room(doc.doctype, old))


def after_delete(doc, method=None) -> None:
	"""After a share is gone, its user's list keeps the row only if they may still read it."""
	if doc.doctype == "DocShare":
		_on_share(doc)


def _on_share(share) -> None:
	# A document deleted with its shares has told its lists already (on_trash).
	if not share.user or not is_live(share.share_doctype):
		return
	if not frappe.db.exists(share.share_doctype, share.share_name):
		return
	doc = frappe.get_doc(share.share_doctype, share.share_name)
	_publish_after_commit(_rendered(lambda: row_events(doc, {share.user})))
