import frappe

from webview_kit import live
from webview_kit.page import page_params, require_user, webview_context
from webview_kit.params import Param

no_cache = 1
# A document of a live DocType: the only one, or the one `doctype` names.
webview_params = {"doctype": Param(required=False), "name": Param(doctype=live.requested_doctype)}


def get_context(context):
	require_user()
	doctype, name, room = live.requested_doc_room(page_params())
	# The room's position first, the document second: a save in between is replayed, not lost.
	webview_context(context, [room])
	context.room = str(room)
	doc = frappe.get_doc(doctype, name)
	context.doc = live.doc_state(doc)
	context.files = live.doc_files(doc)
	context.fields = live.display_fields(doctype)
	context.title_field = live.title_field(doctype)
	context.title = context.doc.get(context.title_field) or name
