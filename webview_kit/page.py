"""What every webview page renders with: its rooms' positions and the client's settings.

A page's `get_context` calls `webview_context(context, rooms)`; the shell template
puts the result in a JSON script tag that `public/js/webview.bundle.js` reads.
"""

import json

import frappe
from frappe.sessions import get_csrf_token

from webview_kit.publish import room_head

__all__ = ["require_user", "webview_context"]


def require_user() -> str:
	"""Return the signed-in user, or fail with 403 for Guest."""
	if frappe.session.user == "Guest":
		raise frappe.PermissionError("Open this page through a webview link to sign in.")
	return frappe.session.user


def webview_context(context, rooms: list[str]) -> dict:
	"""Fill `context` for the shell and return each room's head (seq, epoch, latest)."""
	heads = {room: room_head(room) for room in rooms}
	config = {
		"site": frappe.local.site,
		"user": frappe.session.user,
		"csrf_token": get_csrf_token(),
		"rooms": {room: {"seq": h["seq"], "epoch": h["epoch"]} for room, h in heads.items()},
	}
	# `</` would end the script tag the JSON lives in.
	context.webview_config = json.dumps(config).replace("</", "<\\/")
	context.no_cache = 1
	return heads
