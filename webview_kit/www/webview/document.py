import frappe

from webview_kit import live
from webview_kit.page import require_user, webview_context

no_cache = 1


def get_context(context):
	require_user()
	doctype, name, room = live.requested_doc_room()
	# The room's position first, the document second: a save in between is replayed, not lost.
	webview_context(context, [room])
	context.room = str(room)
	doc = frappe.get_doc(doctype, name)
	context.doc = live.doc_state(doc)
	context.files = live.doc_files(doc)
	context.fields = live.display_fields(doctype)
	context.title_field = live.title_field(doctype)
	context.title = context.doc.get(context.title_field) or name
