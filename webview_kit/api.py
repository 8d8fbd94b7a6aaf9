"""The URL surface: thin whitelisted wrappers over auth and publish."""

import frappe

from webview_kit import auth, live, metrics, presence, publish


def _check_room_access(room: str) -> None:
	"""Allow a user's own room and rooms of documents they can read; 403 otherwise."""
	kind, _, rest = room.partition(":")
	if kind == "user" and rest == frappe.session.user and rest != "Guest":
		return
	if kind == "doc" and "/" in rest:
		doctype, name = rest.split("/", 1)
		if frappe.db.exists("DocType", doctype) and frappe.has_permission(doctype, "read", doc=name):
			return
	raise frappe.PermissionError("You cannot follow this room")


@frappe.whitelist(methods=["GET"])
def catch_up(room: str, after: int = 0, epoch: str | None = None) -> dict:
	"""Events of `room` after sequence `after` (or a gap flag and the latest snapshot)."""
	_check_room_access(room)
	answer = publish.history(room, int(after), epoch or None)
	metrics.count_catch_up(answer)
	return answer


@frappe.whitelist(methods=["POST"])
def issue_link(user: str, route: str, ttl: int | None = None, device: str | None = None) -> dict:
	"""Return a single-use deep link that signs `user` in to `route` (for mobile backends)."""
	return auth.issue_link(user, route, int(ttl) if ttl else None, device)


@frappe.whitelist(methods=["POST"])
def revoke_sessions(user: str) -> dict:
	"""End every webview session of `user`; yourself, or anyone with an issuer role."""
	if not auth.can_issue_for(frappe.session.user, user):
		raise frappe.PermissionError("You may revoke your own webview sessions only")
	return {"ended": auth.revoke(user)}


@frappe.whitelist(methods=["POST"])
def presence_join(client: str, room: str | None = None) -> dict:
	"""Hold or renew this page's presence lease; with `room`, among that room's viewers."""
	if room:
		_check_room_access(room)
	return presence.join(client, frappe.session.user, room or None)


@frappe.whitelist(methods=["POST"])
def presence_leave(client: str, room: str | None = None) -> dict:
	"""End this page's presence lease (a page calls it when hidden or closed)."""
	return presence.leave(client, frappe.session.user, room or None)


@frappe.whitelist(methods=["GET"])
def list_rows(doctype: str) -> list:
	"""The newest rows of a live DocType that you may read (a live list's fresh start)."""
	return live.list_rows(doctype)
