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

__all__ = ["INCLUDE", "skip_page_cache", "update_website_context"]

INCLUDE = "realtime_pages.bundle.js"


def skip_page_cache() -> None:
	"""`before_request`: with the include on, a signed-in user never gets a cached page.

	Frappe caches a rendered web page by path for everyone; a page made before the include
	was turned on would lack it, and one made with it would carry another user's room.
	"""
	request = frappe.local.request
	if request.method == "GET" and not request.path.startswith("/api/") and _wanted():
		frappe.local.no_cache = 1


def update_website_context(context) -> None:
	"""`update_website_context` hook: add the include and the page's room positions."""
	if not _wanted():
		return
	request = getattr(frappe.local, "request", None)
	if request and request.path.startswith(ROUTE_PREFIX):
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
	context.no_cache = 1  # the page now holds this user's room: never cache it for others


def _wanted() -> bool:
	return bool(settings.get("realtime_on_web_pages")) and frappe.session.user != "Guest"
