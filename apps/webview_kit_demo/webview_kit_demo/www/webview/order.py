import frappe

from webview_kit.page import require_user, webview_context
from webview_kit.rooms import Room

no_cache = 1
ORDER = "Webview Demo Order"  # the demo's (bench webview install-demo)


def get_context(context):
	require_user()
	name = frappe.form_dict.get("name") or ""
	# The room's position first, the order second: a save in between is replayed, not lost.
	webview_context(context, [Room.of_doc(ORDER, name)])
	context.doc = frappe.get_doc(ORDER, name)
	context.title = f"Order {name}"
