"""The one place that knows which Frappe major runs, and each difference between v15 and v16 the kit meets.

- **Socket subscribe callbacks.** v15's socket server asks `frappe.realtime.can_subscribe_doc`
  and `can_subscribe_doctype` before a socket joins a room; v16's asks
  `frappe.realtime.has_permission(doctype, name)`. `SOCKET_CALLBACKS` names them all (the
  kit overrides and allows every one, hooks.py), and `can_subscribe` gives Frappe's own answer.
- **Session data.** `tabSessions.sessiondata` is `str(dict)` on v15 and JSON on v16:
  `session_data_text` writes the running form, `parse_session_data` reads either.
- **Signing in.** v16's `login_as` takes a `session_end` and ends the session itself then,
  and runs the `on_session_creation` hooks for it (v15 runs them for interactive logins only).
- **The socket server.** v16's loads `realtime/handlers.js` of every installed app and calls
  it with each socket, so the kit answers catch-ups over the socket (`SOCKET_CATCH_UP`).
- **Rate limits.** `frappe.rate_limiter.rate_limit` counts under a key that gains `:<seconds>`
  on v16 (`rate_limit_key`).

The major is told by a feature, not by `frappe.__version__`: a rebranded build may carry
any version string (the v16 bench snapshot this was tested against reads "2.1.3"), and
`frappe.realtime.has_permission` is what v16's socket server calls.
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

import frappe
import frappe.realtime

__all__ = [
	"MAJOR",
	"SOCKET_CALLBACKS",
	"SOCKET_CATCH_UP",
	"can_subscribe",
	"login_as",
	"parse_session_data",
	"rate_limit_key",
	"session_data_text",
	"session_end",
]

MAJOR = 16 if hasattr(frappe.realtime, "has_permission") else 15

# What each major's socket server calls back before a socket joins a document or DocType room.
SOCKET_CALLBACKS = {
	15: ("frappe.realtime.can_subscribe_doc", "frappe.realtime.can_subscribe_doctype"),
	16: ("frappe.realtime.has_permission",),
}

# Whether the socket server runs the kit's `realtime/handlers.js`, which answers catch-ups.
SOCKET_CATCH_UP = MAJOR >= 16


def can_subscribe(doctype: str, name: str | None = None) -> bool:
	"""Frappe's own answer to the socket server: may this session join `doctype`'s room, or `name`'s."""
	if MAJOR >= 16:
		return frappe.realtime.has_permission(doctype, name or "")
	if name:
		return frappe.realtime.can_subscribe_doc(doctype, name)
	return frappe.realtime.can_subscribe_doctype(doctype)


# -- session data ---------------------------------------------------------------
def session_data_text(data: dict, major: int = MAJOR) -> str:
	"""`data` as `major` stores it in `tabSessions.sessiondata`."""
	if major >= 16:
		return frappe.as_json(data, indent=None, separators=(",", ":"))
	return str(data)


def parse_session_data(text: str | None) -> frappe._dict:
	"""A `tabSessions.sessiondata` value, in the running major's form or the other one.

	The other form too, because a session written by v15 outlives an upgrade to v16.
	"""
	readers = (_from_json, _from_repr) if MAJOR >= 16 else (_from_repr, _from_json)
	for read in readers:
		try:
			return frappe._dict(read(text or "{}"))
		except (ValueError, SyntaxError, NameError):
			continue
	raise ValueError(f"Session data is neither JSON nor a Python literal: {(text or '')[:40]!r}")


def _from_json(text: str) -> dict:
	value = json.loads(text)
	if not isinstance(value, dict):
		raise ValueError("not an object")
	return value


def _from_repr(text: str) -> dict:
	# As v15's Frappe reads it (frappe.sessions.Session.get_session_data_from_db).
	value = frappe.safe_eval(text, None, {"_dict": frappe._dict})
	if not isinstance(value, dict):
		raise ValueError("not a dict")
	return value


# -- signing in -------------------------------------------------------------------
def session_end(ends: float) -> str:
	"""Unix time `ends` as v16's `session_end` wants it: ISO 8601, timezone-aware."""
	return datetime.fromtimestamp(ends, tz=UTC).isoformat()


def login_as(login_manager, user: str, ends: float) -> None:
	"""Sign `user` in with a new session; where Frappe can end a session itself (v16), at `ends`."""
	if "session_end" in inspect.signature(login_manager.login_as).parameters:
		login_manager.login_as(user, session_end=session_end(ends))
	else:
		login_manager.login_as(user)


# -- rate limits --------------------------------------------------------------------
def rate_limit_key(method: str, identity: str, seconds: int, major: int = MAJOR) -> bytes:
	"""The cache key `frappe.rate_limiter.rate_limit` counts `identity`'s calls of `method` under."""
	key = frappe.cache.make_key(f"rl:{method}:{identity}")
	return key + f":{seconds}".encode() if major >= 16 else key
