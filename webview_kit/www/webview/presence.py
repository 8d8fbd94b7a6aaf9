import frappe

from webview_kit import live, presence
from webview_kit.page import require_user, webview_context
from webview_kit.publish import doc_room

no_cache = 1

DEFAULT_DOCTYPE = "Webview Demo Task"


def get_context(context):
	require_user()
	doctype = frappe.form_dict.get("doctype") or DEFAULT_DOCTYPE
	name = frappe.form_dict.get("name")
	live.check_read(doctype, name)
	room = doc_room(doctype, name)
	webview_context(context, [room])
	context.presence_room = room
	context.presence = presence.viewers(room)
	context.doc_title = frappe.db.get_value(doctype, name, live.title_field(doctype)) or name
	context.title = f"Who is here: {context.doc_title}"
