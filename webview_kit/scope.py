"""What a deep-link session may reach: its route with its link's parameters, and the rooms its page declared.

A session started by a deep link carries a scope in its session data: the route and the
parameters it was issued for, when it ends, and, once its page has rendered, the rooms (and
live lists) that page declared. The page reads its parameters from here (`page_params`), and
a request for it with any others is refused (`asks_other_params`, by the renderer). Every request of such a session passes `enforce` (a `before_request`
hook): its page, the methods that page needs, nothing else. Every room it asks for, over
HTTP or through the socket server's subscribe callbacks, is judged by `rooms.Room.can_follow`,
which asks `current()` here.

Sessions without a scope (a desk login, an API key) are not touched.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Mapping
from dataclasses import dataclass

import frappe
from frappe import _

from webview_kit.params import query as encode_query

__all__ = [
	"ROUTE_PREFIX",
	"SESSION_KEY",
	"TOKEN_PARAM",
	"Scope",
	"allowed_methods",
	"asks_other_params",
	"begin",
	"bind_page",
	"current",
	"enforce",
	"is_allowed",
	"link_query",
	"link_token",
	"may_fetch_file",
	"page_params",
]

TOKEN_PARAM = "wvt"
ROUTE_PREFIX = "/webview/"
SESSION_KEY = "webview_scope"
API_METHOD = "/api/method/"
FILE_PATHS = ("/files/", "/private/files/")
ONE_PAGE_ONLY = "This session opens one webview only."


@dataclass(frozen=True)
class Scope:
	"""The reach of one deep-link session."""

	route: str
	expires: float
	rooms: tuple[str, ...] | None = None  # None until the page first renders
	lists: tuple[str, ...] = ()
	params: tuple[tuple[str, str], ...] = ()  # sorted by name

	@property
	def query(self) -> str:
		"""The query string its page is reached with, exactly."""
		return encode_query(dict(self.params))

	@property
	def expired(self) -> bool:
		return time.time() >= self.expires

	def allows_room(self, room: str) -> bool:
		return self.rooms is not None and room in self.rooms

	def allows_document(self, doctype: str, name: str) -> bool:
		"""Whether the page declared the room of this document."""
		# The form of rooms.Room.of_doc, which imports this module (test_scope checks they agree).
		return self.allows_room(f"doc:{doctype}/{name}")

	def as_dict(self) -> dict:
		return {
			"route": self.route,
			"expires": self.expires,
			"rooms": list(self.rooms) if self.rooms is not None else None,
			"lists": list(self.lists),
			"params": dict(self.params),
		}


def current(session=None) -> Scope | None:
	"""The scope of `session` (default: this request's), or None for an unscoped session."""
	session = session if session is not None else getattr(frappe.local, "session", None)
	data = session and session.get("data")
	saved = data and data.get(SESSION_KEY)
	if not saved:
		return None
	rooms = saved.get("rooms")
	return Scope(
		route=saved["route"],
		expires=float(saved["expires"]),
		rooms=tuple(rooms) if rooms is not None else None,
		lists=tuple(saved.get("lists") or ()),
		params=_sorted(saved.get("params")),
	)


def _sorted(params: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
	return tuple(sorted((params or {}).items()))


def begin(route: str, lifetime: int, params: Mapping[str, str] | None = None) -> Scope:
	"""Scope this request's brand-new session to `route` with `params` for `lifetime` seconds, and save it."""
	scope = Scope(route=route, expires=time.time() + lifetime, params=_sorted(params))
	_save(scope)
	return scope


def bind_page(rooms: list[str], lists: list[str] = ()) -> None:
	"""Bind this session to the rooms its page declares on its first render; refuse others later.

	A reload declares the same rooms and passes; the same route asked for another document
	(another `?name=`) declares a room the session was not bound to and gets 403.
	"""
	scope = current()
	if scope is None:
		return
	if scope.rooms is None:
		_save(Scope(scope.route, scope.expires, tuple(rooms), tuple(lists), scope.params))
	elif not (set(rooms) <= set(scope.rooms) and set(lists) <= set(scope.lists)):
		raise frappe.PermissionError(_(ONE_PAGE_ONLY))


def _save(scope: Scope) -> None:
	session = frappe.local.session_obj
	session.data.data[SESSION_KEY] = scope.as_dict()
	session.update(force=True)


# -- the guard on every request ---------------------------------------------------
def link_token() -> str | None:
	"""The deep-link token this request redeems: `wvt` in the query string of a GET, else None.

	The one reader of `wvt`: the renderer redeems what this returns and the guard lets
	through what this returns, so a body that replaces `form_dict` cannot make them disagree.
	"""
	request = getattr(frappe.local, "request", None)
	if request is None or request.method != "GET":
		return None
	return request.args.get(TOKEN_PARAM)


def link_query() -> str:
	"""This request's query string as it came, less its one `wvt=` pair: what a redeem compares with the claims."""
	pairs = frappe.request.query_string.decode("latin-1").split("&")
	token = [i for i, pair in enumerate(pairs) if pair.startswith(f"{TOKEN_PARAM}=")][:1]
	return "&".join(pair for i, pair in enumerate(pairs) if i not in token)


def page_params() -> dict[str, str]:
	"""The parameters this request's page renders with: a deep-link session's signed ones, else the query's.

	The one reader of a page's parameters: what the guard admitted is what the page shows.
	"""
	reach = current()
	if reach is not None:
		return dict(reach.params)
	request = getattr(frappe.local, "request", None)
	return {k: v for k, v in request.args.items() if k != TOKEN_PARAM} if request else {}


def asks_other_params() -> bool:
	"""Whether this request of a deep-link session asks for its page with anything but its link's parameters.

	Only a GET or HEAD with no body and exactly the signed query, byte for byte, asks for
	the page as the link named it: a reordered, repeated, re-encoded or extra parameter, a
	trailing `&`, or one in a form or JSON body is another request, and gets refused.
	"""
	reach = current()
	request = frappe.request
	if reach is None or request.path.rstrip("/") != reach.route:
		return False
	return (
		request.method not in ("GET", "HEAD")
		or bool(request.get_data(cache=True))
		or request.query_string.decode("latin-1") != reach.query
	)


def allowed_methods() -> set[str]:
	"""Methods a scoped session may call besides its page (the `webview_allowed_methods` hook)."""
	return set(frappe.get_hooks("webview_allowed_methods"))


def is_allowed(path: str, route: str) -> bool:
	"""Whether a session scoped to `route` may request `path`: exactly its page, or an allowed method.

	Only canonical paths pass: `/assets/../webview/list` is not under /assets for the
	resolver that renders it, so a path with dot segments or doubled slashes is refused.
	"""
	if path != posixpath.normpath(path) and path != posixpath.normpath(path) + "/":
		return False
	path = path.rstrip("/") or "/"
	if path == route:
		return True
	if path.startswith(API_METHOD):
		return path[len(API_METHOD) :] in allowed_methods()
	return False


def enforce() -> None:
	"""Answer 403 when a deep-link session asks for anything but its page and what that page needs."""
	# Refusals of our methods and of scoped sessions say why, never how the server got there.
	if frappe.request.path.startswith(f"{API_METHOD}webview_kit."):
		frappe.local.flags.disable_traceback = True
	scope = current()
	if scope is None:
		return
	frappe.local.flags.disable_traceback = True
	if scope.expired:
		from frappe.sessions import delete_session

		delete_session(frappe.session.sid, frappe.session.user, reason="Webview session lifetime ended")
		raise frappe.SessionExpired(_("This webview session has ended. Open the link from the app again."))
	# frappe.app runs `cmd` as a method whatever the path, from the query or any body, and
	# none of our pages sends it.
	if "cmd" in frappe.form_dict:
		raise frappe.PermissionError(_(ONE_PAGE_ONLY))
	# A new deep link may replace the session: the renderer redeems it, or refuses it.
	request = frappe.request
	if link_token() is not None and request.path.startswith(ROUTE_PREFIX):
		return
	if not is_allowed(request.path, scope.route) and not may_fetch_file(request.path, scope):
		raise frappe.PermissionError(_(ONE_PAGE_ONLY))


def may_fetch_file(path: str, scope: Scope) -> bool:
	"""Whether a session scoped to `scope` may GET the file at `path`: one its page's documents reference.

	Referenced means attached (a File row) to a document whose room the page declared.
	Frappe attaches the file of every Attach and Attach Image field to its document when
	the document is saved, so this covers those fields too. Frappe's own check follows (a
	private file is sent only if its File is readable). A front that serves `/files/`
	itself, as production nginx configurations do, serves public files to anyone, as
	Frappe means them to be.
	"""
	if frappe.request.method not in ("GET", "HEAD") or not path.startswith(FILE_PATHS):
		return False
	# get_all reads past permissions: this decides reach; Frappe's read check comes after.
	attached = frappe.get_all(
		"File", filters={"file_url": path, "is_folder": 0}, fields=["attached_to_doctype", "attached_to_name"]
	)
	return any(
		file.attached_to_doctype and scope.allows_document(file.attached_to_doctype, file.attached_to_name)
		for file in attached
	)
