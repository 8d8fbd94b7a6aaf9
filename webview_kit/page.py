"""What every webview page renders with: its rooms' positions, event names and settings.

A page's `get_context` calls `webview_context(context, rooms)`; the shell template puts
the result in a JSON script tag that `public/js/webview.bundle.js` reads, and inlines or
links that bundle (`shell.py`). Declaring the
rooms here is also what binds a deep-link session to them (`scope.bind_page`).
"""

import json

import frappe
from frappe import _
from frappe.sessions import get_csrf_token

from webview_kit import fragments, live, presence, progress, scope, shell, tickets, workflow
from webview_kit.infra import compat
from webview_kit.publish import EVENT_COUNT, EVENT_SESSION_ENDED, room_head
from webview_kit.rooms import Room
from webview_kit.scope import page_params

__all__ = ["EVENTS", "MESSAGES", "direction", "page_params", "require_user", "webview_context"]

# The events the page's scripts listen for, by the short names they use.
EVENTS = {
	"count": EVENT_COUNT,
	"session_ended": EVENT_SESSION_ENDED,
	"doc": live.EVENT_DOC,
	"doc_deleted": live.EVENT_DOC_DELETED,
	"fragment": fragments.EVENT_FRAGMENT,
	"presence": presence.EVENT_PRESENCE,
	"progress": progress.EVENT_PROGRESS,
	"comment": workflow.EVENT_COMMENT,
}


# What the page's scripts pass to __() (public/js/webview/translate.js); the page carries
# their translations in the user's language, as Frappe's web forms do (test_translations
# checks that every __() string of the scripts is here).
MESSAGES = (
	"Connecting…",
	"Reconnecting…",
	"You are offline. Updates resume when you are back.",
	"This session has ended. Open the link from the app again.",
	"Some updates were missed; showing the latest state.",
	"Sending…",
	"You may not do this here.",
	"The server refused this ({0}).",
	"{0} joined",
	"{0} left",
	"{0} (you)",
	"Only you are here",
	"Nobody is here",
	"1 other person",
	"{0} other people",
	"You and {0}",
	"Waiting to start",
	"Done",
	"Failed: {0}",
	"Step {0} of {1}: {2}",
	"{0} added",
	"{0} changed",
	"{0} removed",
)
# Written right to left; Frappe's own is_rtl() knows ar, he, fa and ps only.
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ps", "ur", "ckb", "dv", "sd", "ug", "yi"})


def direction(lang: str | None = None) -> str:
	"""The text direction, "rtl" or "ltr", of `lang` (default: this request's language)."""
	lang = lang or frappe.local.lang or "en"
	return "rtl" if lang.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


def translated_messages() -> dict[str, str]:
	"""The page scripts' messages that have a translation in this request's language."""
	return {text: _(text) for text in MESSAGES if _(text) != text}


def require_user() -> str:
	"""Return the signed-in user, or fail with 403 for Guest."""
	if frappe.session.user == "Guest":
		raise frappe.PermissionError(_("Open this page through a webview link to sign in."))
	return frappe.session.user


def webview_context(context, rooms: list[str | Room], lists: list[str] = ()) -> dict:
	"""Fill `context` for the shell and return each room's head (seq, epoch, latest).

	`lists` names the live DocTypes whose rows the page shows: a deep-link session is bound
	to them as to its rooms.
	"""
	# Readable first, then bound: a refused page must not bind a deep-link session to it.
	followed = [Room.parse(room).check_readable() for room in rooms]
	scope.bind_page([str(room) for room in followed], list(lists))
	heads = {str(room): room_head(room) for room in followed}
	context.webview_shell = shell.current()
	context.webview_lang, context.webview_dir = frappe.local.lang or "en", direction()
	config = {
		"site": frappe.local.site,
		"user": frappe.session.user,
		"csrf_token": get_csrf_token(),
		# A deep-link session reaches its own page only: links to other pages go through the app.
		"scoped": scope.current() is not None,
		"events": EVENTS,
		"messages": translated_messages(),
		"rooms": {
			str(room): {
				"seq": heads[str(room)]["seq"],
				"epoch": heads[str(room)]["epoch"],
				"subscribe": room.subscription(),
				**({"ticket": tickets.ticket(str(room))} if compat.SOCKET_CATCH_UP else {}),
			}
			for room in followed
		},
		# v16's socket server runs the kit's handler, which answers catch-ups (realtime/handlers.js)
		"catch_up": "socket" if compat.SOCKET_CATCH_UP else "http",
		**context.webview_shell.for_page(),
	}
	# `</` would end the script tag the JSON lives in.
	context.webview_config = json.dumps(config).replace("</", "<\\/")
	context.no_cache = 1
	return heads
