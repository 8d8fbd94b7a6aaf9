import frappe

from webview_kit import live, presence
from webview_kit.page import require_user, webview_context

no_cache = 1


def get_context(context):
	require_user()
	doctype, name, room = live.requested_doc_room()
	webview_context(context, [room])
	context.presence_room = room
	context.presence = presence.viewers(room)
	context.doc_title = frappe.db.get_value(doctype, name, live.title_field(doctype)) or name
	context.title = f"Who is here: {context.doc_title}"
