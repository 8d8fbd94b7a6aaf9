"""Realtime on Frappe's own web pages: the opt-in include (Webview Settings, "Realtime on web pages").

With it on, every page built on Frappe's `base.html` for a signed-in user gets the user room's
position at render time and `realtime_pages.bundle.js`, which makes `frappe.realtime.on` work
whenever it is called and catches handlers up on what `webview_kit.publish` sent. With it off,
pages are exactly as Frappe renders them.
"""

import json

import frappe

from webview_kit import settings
from webview_kit.publish import EVENT_SESSION_ENDED, room_head
from webview_kit.rooms import Room
from webview_kit.scope import ROUTE_PREFIX

__all__ = ["INCLUDE", "update_website_context"]

INCLUDE = "realtime_pages.bundle.js"


def update_website_context(context) -> None:
	"""`update_website_context` hook: add the include and the page's room positions."""
	if not settings.get("realtime_on_web_pages") or frappe.session.user == "Guest":
		return
	if frappe.request and frappe.request.path.startswith(ROUTE_PREFIX):
		return  # webview pages have their own shell
	room = Room.of_user(frappe.session.user)
	head = room_head(room)
	config = {
		"site": frappe.local.site,
		"events": {"session_ended": EVENT_SESSION_ENDED},
		"rooms": {str(room): {"seq": head["seq"], "epoch": head["epoch"], "subscribe": None}},
	}
	tag = '<script type="application/json" id="wvk-realtime">{}</script>'
	context.head_include = (context.head_include or "") + tag.format(json.dumps(config).replace("</", "<\\/"))
	# A copy: the list in the context is the hooks' own, shared by every page.
	context.web_include_js = [*(context.web_include_js or []), INCLUDE]
