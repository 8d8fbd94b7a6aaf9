"""Room tickets: how the kit's socket handler knows that a session's page may catch up on a room.

On Frappe v16 the socket server runs the kit's `realtime/handlers.js`, which answers a page's
catch-up from the room's history in Redis without asking Frappe. Frappe joins every socket to
its user's room on its own, though, also the socket of a deep-link session whose page shows a
document only; the ticket is what tells the handler that this session's page declared the
room. It is an HMAC of the site, the session id and the room under a secret kept in the queue
Redis (where the handler reads it); a page gets one per room when it renders, after its rooms
were checked and bound (`page.webview_context`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import frappe

from webview_kit.infra import queue_redis

__all__ = ["SECRET_KEY", "ticket"]

SECRET_KEY = "webview_kit:socket-ticket-secret"  # realtime/handlers.js TICKET_SECRET


def ticket(room: str, sid: str | None = None) -> str:
	"""The ticket that lets session `sid` (default: this request's) catch up on `room` over the socket."""
	message = f"{frappe.local.site}\n{sid or frappe.session.sid}\n{room}"
	return hmac.new(_secret(), message.encode(), hashlib.sha256).hexdigest()


def _secret() -> bytes:
	"""The tickets' secret; made once, and again if the queue Redis lost it (older tickets then fail)."""
	connection = queue_redis.connection()
	secret = connection.get(SECRET_KEY)
	if secret is None:
		connection.set(SECRET_KEY, secrets.token_hex(32), nx=True)
		secret = connection.get(SECRET_KEY)
	return secret
