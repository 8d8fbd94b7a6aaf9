import frappe

from webview_kit.page import page_params, require_user, webview_context
from webview_kit.rooms import Room

no_cache = 1
ORDER = "Webview Demo Order"  # the demo's (bench webview install-demo)
webview_params = {"name": ORDER}  # the order to show, which the link's user must be able to read


def get_context(context):
	require_user()
	name = page_params().get("name") or ""
	# The room's position first, the order second: a save in between is replayed, not lost.
	webview_context(context, [Room.of_doc(ORDER, name)])
	context.doc = frappe.get_doc(ORDER, name)
	context.title = f"Order {name}"
