"""The URL surface: thin whitelisted wrappers over links, rooms, presence and actions.

Every method that names a room parses it with `Room.parse` and asks `Room.can_follow`;
nothing here decides access on its own.
"""

import functools
import inspect
import json

import frappe

from webview_kit import actions, auth, presence, publish, scope
from webview_kit import params as page_params
from webview_kit.infra import compat, metrics
from webview_kit.rooms import Room

MAX_DEVICE = 200  # characters of the free-text device label a link may carry
# A page probes once per document room when its socket (re)connects, and again with backoff
# until the room's copy comes first: a handful a minute. Every probe reaches each socket in the
# room, so a user's flood of them is refused before it is relayed (per user, not per session:
# signing in again must not buy a new allowance).
PROBES_PER_MINUTE = 120


def clear_errors(method):
	"""Answer bad input to `method` with a 4xx that says what was wrong.

	Frappe answers a call missing an argument with a bare 500 TypeError, and shows a refusal's
	text only if it went through frappe.throw; a phone or a mobile backend needs the text.
	"""
	signature = inspect.signature(method)

	@functools.wraps(method)
	def explained(*args, **kwargs):
		try:
			signature.bind(*args, **kwargs)
		except TypeError as missing:
			frappe.throw(f"{method.__name__}: {missing}", frappe.ValidationError, title="Bad request")
		try:
			return method(*args, **kwargs)
		except (frappe.ValidationError, frappe.PermissionError) as refusal:
			if not frappe.message_log and str(refusal):
				frappe.msgprint(str(refusal), title="Not done", indicator="red")
			raise

	return explained


@frappe.whitelist(methods=["GET"])
@clear_errors
def catch_up(room: str, after: int = 0, epoch: str | None = None, probe: str | None = None) -> dict:
	"""Events of `room` after sequence `after` (or a gap flag and the latest snapshot).

	With `probe`, also tell this page's socket whether it is in the room yet (publish.history).
	"""
	followed = Room.parse(room).check_follow()
	if probe:
		check_probe_rate(frappe.session.user)
	answer = publish.history(followed, int(after), epoch or None, probe or None)
	metrics.count_catch_up(answer)
	return answer


def check_probe_rate(user: str) -> None:
	probed, _retry_after = auth.count_in_window("probes", user)
	if probed > PROBES_PER_MINUTE:
		frappe.throw(
			frappe._("Too many catch-ups asking whether the socket joined; try again in a minute."),
			frappe.RateLimitExceededError,
		)


@frappe.whitelist(methods=["POST"])
@clear_errors
def issue_link(
	user: str,
	route: str,
	params: dict | str | None = None,
	ttl: int | None = None,
	device: str | None = None,
) -> dict:
	"""Return a single-use deep link that signs `user` in to `route` with `params` (for mobile backends).

	`params` is an object of text values, as JSON in a form body: `params={"name": "SO-0001"}`.
	"""
	if device is not None and (not isinstance(device, str) or len(device) > MAX_DEVICE):
		frappe.throw(f"device must be text of at most {MAX_DEVICE} characters", frappe.ValidationError)
	params = page_params.parse(params)
	auth.check_issue_rate(frappe.session.user)
	return auth.issue_link(user, route, params, None if ttl in (None, "") else int(ttl), device)


@frappe.whitelist(methods=["POST"])
@clear_errors
def revoke_sessions(user: str) -> dict:
	"""End every webview session of `user` and void their unused links; yourself, or as an issuer."""
	if not auth.can_revoke_for(frappe.session.user, user):
		raise frappe.PermissionError("You may revoke your own webview sessions only")
	return {"ended": auth.revoke(user)}


@frappe.whitelist(methods=["POST"])
@clear_errors
def presence_join(client: str, room: str | None = None) -> dict:
	"""Hold or renew this page's presence lease; with `room`, among that room's viewers."""
	presence.check_join_rate(frappe.session.sid)
	followed = Room.parse(room).check_follow() if room else None
	return presence.join(client, frappe.session.user, followed)


@frappe.whitelist(methods=["POST"])
@clear_errors
def presence_leave(client: str, room: str | None = None) -> dict:
	"""End this page's presence lease (a page calls it when hidden or closed)."""
	followed = Room.parse(room).check_follow() if room else None
	return presence.leave(client, frappe.session.user, followed)


@frappe.whitelist(methods=["POST"])
@clear_errors
def act(action: str, id: str, args: dict | str | None = None) -> dict:
	"""Run webview action `action` with `args`, once for the device-made `id` (see actions.py)."""
	if isinstance(args, str):
		try:
			args = json.loads(args)
		except ValueError:
			raise actions.ActionArgumentError("Arguments must be an object of named values, as JSON")
	outcome = actions.run(action, args, id)
	return {"id": id, "result": outcome.result, "replayed": outcome.replayed}


# -- the socket server's callbacks (hooks.py: override_whitelisted_methods) ----------
# v15's socket server calls the first two, v16's `has_permission` (infra/compat.py).
@frappe.whitelist()
def can_subscribe_doc(doctype: str, docname: str) -> bool:
	"""`doc_subscribe` and `doc_open`: a deep-link session only for its page's rooms."""
	return has_permission(doctype, docname)


@frappe.whitelist()
def can_subscribe_doctype(doctype: str) -> bool:
	"""`doctype_subscribe`: never for a deep-link session, whose pages follow rooms, not DocTypes."""
	return has_permission(doctype)


@frappe.whitelist()
def has_permission(doctype: str, name: str = "") -> bool:
	"""Whether this session's socket may join `name`'s room, or with no `name` `doctype`'s room."""
	if scope.current() is None:
		return compat.can_subscribe(doctype, name or None)
	if not name:
		raise frappe.PermissionError(scope.ONE_PAGE_ONLY)
	Room.of_doc(doctype, name).check_follow()
	return True
