"""Rooms: where events go, and the one place that decides who may follow one.

A room is Frappe's own: `user:<name>` (every socket of that user joins it on connect) or
`doc:<doctype>/<name>` (joined with `doc_subscribe`). `Room.parse` is the only reader of a
room string and `Room.can_follow` the only judge of access; catch-up, live lists, presence
and the socket server's subscribe callbacks all go through them.

To publish to a room from your app::

    from webview_kit.publish import Room, publish

    publish(Room.of_doc("Sales Order", "SO-0001"), "myapp.approved", {...})
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import frappe

from webview_kit import scope

__all__ = ["MAX_LENGTH", "Room", "RoomError"]

USER, DOC = "user", "doc"
MAX_LENGTH = 256  # "doc:" + a DocType name (at most 61) + "/" + a document name (at most 140), with room
FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
CANNOT_FOLLOW = "You cannot follow this room"
SHAPE = "rooms are user:<name> or doc:<doctype>/<name>"


class RoomError(frappe.ValidationError):
	"""A room string that is not a room."""


@dataclass(frozen=True)
class Room:
	"""`user:<name>` or `doc:<doctype>/<name>`."""

	kind: str
	name: str
	doctype: str = ""

	@classmethod
	def of_user(cls, user: str) -> Room:
		return cls._checked(USER, user)

	@classmethod
	def of_doc(cls, doctype: str, name: str) -> Room:
		return cls._checked(DOC, name, doctype)

	@classmethod
	def parse(cls, text) -> Room:
		"""The room `text` names; RoomError for anything else (wrong type, kind, shape or length)."""
		if isinstance(text, Room):
			return text
		if not isinstance(text, str) or len(text) > MAX_LENGTH:
			raise RoomError(f"Unknown room: {SHAPE}, of at most {MAX_LENGTH} characters")
		kind, _, rest = text.partition(":")
		if kind == USER:
			return cls._checked(USER, rest)
		if kind == DOC:
			doctype, _, name = rest.partition("/")
			return cls._checked(DOC, name, doctype)
		raise RoomError(f"Unknown room {text[:80]!r}: {SHAPE}")

	@classmethod
	def _checked(cls, kind: str, name: str, doctype: str = "") -> Room:
		room = cls(kind, name, doctype)
		parts = (name, doctype) if kind == DOC else (name,)
		if not all(isinstance(p, str) and p and not FORBIDDEN.search(p) for p in parts):
			raise RoomError(f"Unknown room {str(room)[:80]!r}: {SHAPE}")
		if len(str(room)) > MAX_LENGTH:
			raise RoomError(f"Unknown room: {SHAPE}, of at most {MAX_LENGTH} characters")
		return room

	def __str__(self) -> str:
		return f"{USER}:{self.name}" if self.kind == USER else f"{DOC}:{self.doctype}/{self.name}"

	# -- what is there ---------------------------------------------------------------
	def exists(self) -> bool:
		"""Whether events may be published here: an existing user, or a document of an existing DocType.

		A document room outlives its document by one event (`doc_deleted`), so only its
		DocType must exist.
		"""
		if self.kind == USER:
			return bool(frappe.db.exists("User", self.name, cache=True))
		return bool(frappe.db.exists("DocType", self.doctype, cache=True))

	def subscription(self) -> list[str] | None:
		"""The socket.io event and arguments that join this room, or None (user rooms are joined on connect)."""
		return ["doc_subscribe", self.doctype, self.name] if self.kind == DOC else None

	# -- who may follow it -------------------------------------------------------------
	def can_follow(self, session=None) -> bool:
		"""Whether `session` (default: this request's) may receive this room's events.

		A user follows their own room and the rooms of documents they may read; a deep-link
		session, moreover, only the rooms its page declared.
		"""
		session = session if session is not None else frappe.session
		reach = scope.current(session)
		if reach is not None and not reach.allows_room(str(self)):
			return False
		return self.readable_by(session.get("user"))

	def readable_by(self, user: str) -> bool:
		"""Whether `user` may read what this room carries, whatever their session's scope."""
		return self.permits(user, "read")

	def permits(self, user: str, ptype: str) -> bool:
		"""Whether `user` has `ptype` on this room's document (a user room: only its user, any ptype)."""
		if self.kind == USER:
			return self.name == user and user != "Guest"
		return (
			bool(frappe.db.exists("DocType", self.doctype, cache=True))
			and bool(frappe.db.exists(self.doctype, self.name))
			and frappe.has_permission(self.doctype, ptype, doc=self.name, user=user)
		)

	def check_follow(self, session=None) -> Room:
		"""Return the room, or raise PermissionError (the same for "missing" and "not yours")."""
		if not self.can_follow(session):
			raise frappe.PermissionError(CANNOT_FOLLOW)
		return self

	def check_readable(self) -> Room:
		"""Return the room if the session's user may read it, else raise PermissionError."""
		if not self.readable_by(frappe.session.user):
			raise frappe.PermissionError(CANNOT_FOLLOW)
		return self
