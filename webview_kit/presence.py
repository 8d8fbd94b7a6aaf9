"""Who has a webview open, kept in Redis so every web and socket server agrees.

Frappe's socket.io server tells apps nothing about connects and disconnects, and each
server knows only its own sockets, so presence cannot live there. Instead a page holds
a lease: it joins once its realtime connection is live, renews the lease every third of
its length while it stays live, and leaves when it is hidden or closed. A page that
vanishes without leaving (a phone losing signal) stops renewing, and the next join or
renewal in its room drops it. Every page counts in `live_count()`.

A page that shows its viewers names a room (the presence page uses its document's
room). Each change of that room's viewers publishes `webview_kit.presence` with the
list to the room, coalesced (history keeps only the newest list, so presence never
pushes a room's real events out), and every socket server delivers it. The list carries
a `version` that grows with every membership write, so a page that receives two lists
out of order keeps the newer one. It names at most *Viewers listed per room* people
(and fewer if they would not fit in *Largest event*), and `more` counts the rest, so a
crowded room still accepts every join. A session may join at most *Presence joins a
minute per session* times a minute (`check_join_rate`).

To show viewers on your own page, pass `presence_room=<room>` in the context (see
`www/webview/presence.py`) and put `data-live-presence` on the list's container.
"""

from __future__ import annotations

import json
import re
import time

import frappe
from frappe import _
from frappe.utils import get_fullname

from webview_kit import auth, settings
from webview_kit.publish import publish
from webview_kit.rooms import Room

__all__ = ["EVENT_PRESENCE", "check_join_rate", "join", "lease", "leave", "live_count", "viewers"]

EVENT_PRESENCE = "webview_kit.presence"
CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SEPARATOR = "\t"  # between user and client in a member; neither may contain it


def lease() -> int:
	"""Seconds a join lasts without renewal (the `presence_lease` setting)."""
	return max(3, settings.get("presence_lease"))


def _clients_key() -> str:
	return frappe.cache.make_key("webview_kit:presence:clients")


def _room_keys(room: Room) -> tuple[str, str]:
	base = f"webview_kit:presence:room:{room}"
	return frappe.cache.make_key(f"{base}:members"), frappe.cache.make_key(f"{base}:version")


def _check_client(client: str) -> None:
	if not isinstance(client, str) or not CLIENT_RE.match(client):
		frappe.throw("client must be 8 to 64 letters, digits, '-' or '_'", frappe.ValidationError)


def check_join_rate(session: str) -> None:
	"""Raise RateLimitExceededError once `session` joined more often this minute than allowed.

	A page renews its lease every third of it, so a few joins a minute per page; a flood of
	client ids from one session is refused before it touches any room.
	"""
	joined, _retry_after = auth.count_in_window("presence", session)
	if joined > settings.get("presence_rate_limit"):
		frappe.throw(_("Too many presence updates; try again in a minute."), frappe.RateLimitExceededError)


def join(client: str, user: str, room: Room | None = None) -> dict:
	"""Hold or renew `client`'s lease, among `room`'s viewers if given; return the room's state."""
	_check_client(client)
	now = time.time()
	seconds = lease()
	pipe = frappe.cache.pipeline(transaction=True)
	_touch_clients(pipe, now, seconds, add=_member(user, client))
	if room:
		members, version = _room_keys(room)
		pipe.zremrangebyscore(members, "-inf", now)
		pipe.zadd(members, {_member(user, client): now + seconds})
		pipe.zrange(members, 0, -1)
		pipe.incr(version)
		for key in (members, version):
			pipe.expire(key, seconds * 2)
	results = pipe.execute()
	if not room:
		return {"lease": seconds}
	expired, added, names, version = results[3:7]
	state = _state(room, names, version, seconds)
	if expired or added:
		publish(room, EVENT_PRESENCE, state, coalesce=True)
	return state


def leave(client: str, user: str, room: Room | None = None) -> dict:
	"""End `client`'s lease (and its place among `room`'s viewers); return the room's state."""
	_check_client(client)
	pipe = frappe.cache.pipeline(transaction=True)
	pipe.zrem(_clients_key(), _member(user, client))
	if room:
		members, version = _room_keys(room)
		pipe.zrem(members, _member(user, client))
		pipe.zrange(members, 0, -1)
		pipe.incr(version)
		for key in (members, version):
			pipe.expire(key, lease() * 2)
	results = pipe.execute()
	if not room:
		return {"lease": lease()}
	removed, names, version = results[1:4]
	state = _state(room, names, version, lease())
	if removed:
		publish(room, EVENT_PRESENCE, state, coalesce=True)
	return state


def viewers(room: Room) -> dict:
	"""`room`'s current viewers and version, as `webview_kit.presence` carries them."""
	members, version = _room_keys(room)
	pipe = frappe.cache.pipeline(transaction=True)
	pipe.zremrangebyscore(members, "-inf", time.time())
	pipe.zrange(members, 0, -1)
	pipe.get(version)
	_expired, names, current = pipe.execute()
	return _state(room, names, int(current or 0), lease())


def live_count() -> int:
	"""How many webview pages of this site hold a live lease right now."""
	pipe = frappe.cache.pipeline(transaction=True)
	pipe.zremrangebyscore(_clients_key(), "-inf", time.time())
	pipe.zcard(_clients_key())
	return int(pipe.execute()[1])


def _member(user: str, client: str) -> str:
	# The user is part of the member, so a session can only ever end its own user's leases.
	return f"{user}{SEPARATOR}{client}"


def _touch_clients(pipe, now: float, seconds: int, add: str) -> None:
	key = _clients_key()
	pipe.zremrangebyscore(key, "-inf", now)
	pipe.zadd(key, {add: now + seconds})
	pipe.expire(key, seconds * 2)


def _state(room: Room, names: list[bytes], version: int, seconds: int) -> dict:
	clients: dict[str, int] = {}
	for member in names:
		user = member.decode().split(SEPARATOR, 1)[0]
		clients[user] = clients.get(user, 0) + 1
	users = sorted(clients, key=lambda user: (get_fullname(user).lower(), user))
	state = {"room": str(room), "version": int(version), "lease": seconds, "viewers": [], "more": len(users)}
	room_left = settings.get("max_payload") - len(json.dumps(state)) - len(str(len(users)))
	for user in users[: settings.get("presence_max_viewers")]:
		person = {"user": user, "name": get_fullname(user), "clients": clients[user]}
		room_left -= len(json.dumps(person)) + 2
		if room_left < 0:
			break
		state["viewers"].append(person)
		state["more"] -= 1
	return state
