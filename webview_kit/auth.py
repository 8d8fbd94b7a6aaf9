"""Issue, redeem and revoke deep-link tokens, and keep their sessions to one page.

A token is `wvk_` + 43 URL-safe characters (256 random bits) + a 6-character
checksum, so secret scanners can spot leaks and typos are refused without a lookup.
Only its SHA-256 is stored, in Redis with the claims and a TTL. Redeeming is one
Lua call that deletes the claims and leaves a short-lived "used" mark, so of two
concurrent redeems exactly one wins and the other learns the link was used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import zlib
from dataclasses import dataclass

import frappe
from frappe.utils import get_url

from webview_kit import metrics
from webview_kit.publish import EVENT_SESSION_ENDED, publish, user_room

__all__ = [
	"ISSUER_ROLES",
	"LinkError",
	"enforce_session_scope",
	"issue_link",
	"new_token",
	"redeem",
	"revoke",
	"start_session",
]

PREFIX = "wvk_"
TOKEN_PARAM = "wvt"
ROUTE_PREFIX = "/webview/"
DEFAULT_TTL = 120
DEFAULT_MAX_TTL = 900
USED_MARK_TTL = 3600  # how long "already used" and "expired" stay distinguishable
ISSUER_ROLES = ("Webview Issuer", "System Manager")
TOKEN_RE = re.compile(r"^wvk_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{6})$")
ROUTE_RE = re.compile(r"^/webview/[a-z0-9][a-z0-9_/-]*$")

_REDEEM_LUA = """
local claims = redis.call('GETDEL', KEYS[1])
if claims then
	redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
	return claims
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'used' end
return false
"""


@dataclass
class LinkError(Exception):
	"""A deep link was refused; `reason` is for the audit log, `message` for the person."""

	reason: str
	status: int
	message: str


INVALID = ("This link is not valid", 401, "Ask the app for a new link.")
REFUSALS = {
	"malformed": INVALID,
	"altered": INVALID,
	"unknown": INVALID,
	"expired": (
		"This link has expired",
		410,
		"Links work for a short time only. Ask the app for a new link.",
	),
	"used": (
		"This link has already been used",
		410,
		"Each link opens the page once. Ask the app for a new link.",
	),
	"wrong_route": ("This link is for a different page", 403, "Open the link exactly as the app gave it."),
	"user_unavailable": ("This account cannot sign in here", 403, "Contact the app's support."),
}


def refuse(reason: str) -> LinkError:
	title, status, _hint = REFUSALS[reason]
	return LinkError(reason, status, title)


# -- tokens -------------------------------------------------------------------
def _checksum(body: str) -> str:
	return base64.urlsafe_b64encode(zlib.crc32(body.encode()).to_bytes(4, "big")).decode()[:6]


def new_token() -> str:
	body = secrets.token_urlsafe(32)
	return f"{PREFIX}{body}{_checksum(body)}"


def token_hash(token: str) -> str:
	return hashlib.sha256(token.encode()).hexdigest()


def check_format(token: str) -> None:
	"""Raise LinkError for a token that is not of our shape or whose checksum is off."""
	match = TOKEN_RE.fullmatch(token or "")
	if not match:
		raise refuse("malformed")
	if not hmac.compare_digest(_checksum(match.group(1)), match.group(2)):
		raise refuse("altered")


def _claims_key(digest: str) -> str:
	return frappe.cache.make_key(f"webview_kit:link:{digest}")


def _used_key(digest: str) -> str:
	return frappe.cache.make_key(f"webview_kit:link-used:{digest}")


def _sessions_key(user: str) -> str:
	# Unprefixed: frappe.cache's set methods prefix names themselves.
	return f"webview_kit:sessions:{user}"


# -- issue --------------------------------------------------------------------
def validate_route(route: str) -> str:
	"""Return `route` if it names an existing webview page, else raise ValidationError."""
	from frappe.website.path_resolver import PathResolver

	if not isinstance(route, str) or not ROUTE_RE.match(route) or "//" in route:
		frappe.throw(f"Route must look like /webview/<page>, got {route!r}", frappe.ValidationError)
	if not PathResolver(route).is_valid_path():
		frappe.throw(f"No webview page at {route}", frappe.ValidationError)
	return route.rstrip("/")


def max_ttl() -> int:
	return int(frappe.conf.get("webview_link_max_ttl") or DEFAULT_MAX_TTL)


def can_issue_for(issuer: str, user: str) -> bool:
	return issuer == user or bool(set(ISSUER_ROLES) & set(frappe.get_roles(issuer)))


def issue_link(
	user: str, route: str, ttl: int | None = None, device: str | None = None, issuer: str | None = None
) -> dict:
	"""Return a single-use deep link signing `user` in to `route`, valid for `ttl` seconds."""
	issuer = issuer or frappe.session.user
	if not can_issue_for(frappe.session.user, user):
		raise frappe.PermissionError(
			f"You may issue links for yourself only (or need the {ISSUER_ROLES[0]} role)"
		)
	if not frappe.db.get_value("User", user, "enabled"):
		frappe.throw(f"User {user} does not exist or is disabled", frappe.ValidationError)
	route = validate_route(route)
	ttl = int(ttl or DEFAULT_TTL)
	if not 1 <= ttl <= max_ttl():
		frappe.throw(f"ttl must be between 1 and {max_ttl()} seconds", frappe.ValidationError)
	token = new_token()
	digest = token_hash(token)
	now = time.time()
	claims = {"user": user, "route": route, "exp": now + ttl, "iat": now, "issuer": issuer, "device": device}
	frappe.cache.set(_claims_key(digest), json.dumps(claims), ex=ttl + USED_MARK_TTL)
	audit(f"Webview link issued by {issuer} for {route} (link {digest[:12]}, {ttl}s)", user, "Success")
	metrics.count("links_issued")
	return {"url": f"{get_url()}{route}?{TOKEN_PARAM}={token}", "expires_in": ttl, "link_id": digest[:12]}


# -- redeem -------------------------------------------------------------------
def redeem(token: str, route: str) -> dict:
	"""Consume `token` for `route` and return its claims, or raise LinkError."""
	check_format(token)
	digest = token_hash(token)
	script = frappe.cache.register_script(_REDEEM_LUA)
	found = script(keys=[_claims_key(digest), _used_key(digest)], args=[USED_MARK_TTL])
	if found is None:
		raise refuse("unknown")
	if found == b"used":
		raise refuse("used")
	claims = json.loads(found)
	claims["link_id"] = digest[:12]
	if claims["exp"] < time.time():
		raise refuse("expired")
	if claims["route"] != route.rstrip("/"):
		raise refuse("wrong_route")
	if not frappe.db.get_value("User", claims["user"], "enabled"):
		raise refuse("user_unavailable")
	return claims


def start_session(claims: dict) -> None:
	"""Sign the claims' user in with a brand-new session that reaches only the claims' route."""
	from frappe.auth import LoginManager

	frappe.local.login_manager = login = LoginManager()
	login.login_as(claims["user"])
	session = frappe.local.session_obj
	session.data.data.webview_route = claims["route"]
	session.update(force=True)
	frappe.cache.sadd(_sessions_key(claims["user"]), session.sid)


def revoke(user: str) -> int:
	"""End every webview session of `user`, tell their open pages, and return how many ended."""
	from frappe.sessions import delete_session

	sids = [sid.decode() for sid in frappe.cache.smembers(_sessions_key(user))]
	for sid in sids:
		delete_session(sid, user=user, reason="Webview session revoked")
	frappe.cache.delete_value(_sessions_key(user))
	publish(user_room(user), EVENT_SESSION_ENDED, {"reason": "revoked"})
	audit(f"Webview sessions revoked ({len(sids)})", user, "Success")
	frappe.db.commit()
	return len(sids)


# -- scope --------------------------------------------------------------------
def allowed_methods() -> set[str]:
	return set(frappe.get_hooks("webview_allowed_methods"))


def is_allowed(path: str, route: str) -> bool:
	"""Whether a deep-link session for `route` may request `path`."""
	path = path.rstrip("/") or "/"
	if path == route or path.startswith("/assets/"):
		return True
	if path.startswith("/api/method/"):
		return path[len("/api/method/") :] in allowed_methods()
	return False


def enforce_session_scope() -> None:
	"""Answer 403 when a deep-link session asks for anything but its page and what it needs."""
	session = getattr(frappe.local, "session", None)
	route = session and session.data and session.data.get("webview_route")
	if not route:
		return
	request = frappe.request
	# frappe.app runs `cmd` as a whitelisted method whatever the path, so check it first.
	cmd = frappe.form_dict.get("cmd")
	if cmd and cmd not in allowed_methods():
		raise frappe.PermissionError("This session opens one webview only.")
	# A new deep link may replace the session; the redeeming page decides about it.
	if request.path.startswith(ROUTE_PREFIX) and TOKEN_PARAM in request.args:
		return
	if not is_allowed(request.path, route):
		raise frappe.PermissionError("This session opens one webview only.")


# -- audit --------------------------------------------------------------------
def audit(subject: str, user: str | None, status: str) -> None:
	"""Record a link event in Frappe's Activity Log (never the token)."""
	frappe.get_doc(
		{
			"doctype": "Activity Log",
			"subject": subject[:140],
			"user": user if user and frappe.db.exists("User", user) else "Guest",
			"operation": "Login",
			"status": status,
			"ip_address": getattr(frappe.local, "request_ip", None),
		}
	).insert(ignore_permissions=True)
