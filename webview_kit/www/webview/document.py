import frappe

from webview_kit import live
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
	# The room's position first, the document second: a save in between is replayed, not lost.
	webview_context(context, [room])
	context.doc = live.doc_state(frappe.get_doc(doctype, name))
	context.fields = live.display_fields(doctype)
	context.title_field = live.title_field(doctype)
	context.title = context.doc.get(context.title_field) or name
