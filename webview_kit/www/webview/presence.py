import frappe

from webview_kit import live, presence
from webview_kit.page import page_params, require_user, webview_context
from webview_kit.params import Param

no_cache = 1
# A document of a live DocType: the only one, or the one `doctype` names.
webview_params = {"doctype": Param(required=False), "name": Param(doctype=live.requested_doctype)}


def get_context(context):
	require_user()
	doctype, name, room = live.requested_doc_room(page_params())
	webview_context(context, [room])
	context.presence_room = room
	context.presence = presence.viewers(room)
	context.doc_title = frappe.db.get_value(doctype, name, live.title_field(doctype)) or name
	context.title = f"Who is here: {context.doc_title}"
