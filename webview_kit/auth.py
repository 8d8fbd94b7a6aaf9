"""Issue, redeem and revoke deep-link tokens, and start the scoped sessions they open.

A token is `wvk_` + 43 URL-safe characters (256 random bits) + a 6-character
checksum, so secret scanners can spot leaks and typos are refused without a lookup.
Only its SHA-256 is stored, in Redis with the claims and a TTL. Redeeming is one
Lua call that deletes the claims and leaves a short-lived "used" mark, so of two
concurrent redeems exactly one wins and the other learns the link was used.

Who a link may be issued for: never Administrator; a System User only when the issuer
is a System Manager; and, when the `link_roles` setting names roles, only users with one
of them. What the session it opens may reach is `scope.py`'s business.
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

from webview_kit import params as page_params
from webview_kit import scope, settings
from webview_kit.infra import compat, metrics
from webview_kit.publish import EVENT_SESSION_ENDED, publish, user_room

__all__ = [
	"ISSUER_ROLES",
	"LinkError",
	"can_issue_for",
	"can_revoke_for",
	"check_browser_session",
	"issue_link",
	"new_token",
	"note_refusal",
	"redeem",
	"revoke",
	"start_session",
]

PREFIX = "wvk_"
DEFAULT_TTL = 120
USED_MARK_TTL = 3600  # how long "already used" and "expired" stay distinguishable
ISSUER_ROLES = ("Webview Issuer", "System Manager")
TOKEN_RE = re.compile(r"^wvk_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{6})$")
ROUTE_RE = re.compile(r"^/webview/[a-z0-9][a-z0-9_/-]*$")
MAX_ROUTE = 140
WINDOW = 60  # seconds of the redeem and issue rate limits

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
	"revoked": ("This link is no longer valid", 410, "Ask the app for a new link."),
	"wrong_route": ("This link is for a different page", 403, "Open the link exactly as the app gave it."),
	"wrong_params": ("This link opens something else", 403, "Open the link exactly as the app gave it."),
	"user_unavailable": ("This account cannot sign in here", 403, "Contact the app's support."),
	"signed_in_as_other": (
		"This browser is signed in as someone else",
		409,
		"Sign out in this browser first, or open the link in the app. Then ask the app for a new link.",
	),
}
RATE_LIMITED = "rate_limited"
RATE_LIMITED_PAGE = ("Too many attempts", 429, "Wait a minute, then ask the app for a new link.")


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


# Revoke marks are rows of Frappe's DefaultValue table under this parent, not cache keys:
# the cache Redis evicts keys when full, and an evicted mark would let links issued before
# the revoke open again.
REVOKED_PARENT = "__webview_kit_revoked"


def _revoked_at(user: str) -> float:
	"""When `user`'s webview sessions were last revoked (0: never), read from the database."""
	stored = frappe.db.get_value("DefaultValue", {"parent": REVOKED_PARENT, "defkey": user}, "defvalue")
	return float(stored or 0)


def _mark_revoked(user: str, at: float) -> None:
	from frappe.defaults import set_default

	set_default(user, repr(at), REVOKED_PARENT)


# -- issue --------------------------------------------------------------------
def validate_route(route: str) -> str:
	"""Return `route` if it names an existing webview page, else raise ValidationError."""
	from frappe.website.path_resolver import PathResolver

	if not isinstance(route, str) or len(route) > MAX_ROUTE or not ROUTE_RE.match(route) or "//" in route:
		shown = repr(route)[:80] if isinstance(route, str) else type(route).__name__
		frappe.throw(f"Route must look like /webview/<page>, got {shown}", frappe.ValidationError)
	if not PathResolver(route).is_valid_path():
		frappe.throw(f"No webview page at {route}", frappe.ValidationError)
	return route.rstrip("/")


def max_ttl() -> int:
	return settings.get("link_max_ttl")


def can_revoke_for(issuer: str, user: str) -> bool:
	"""Whether `issuer` may end `user`'s webview sessions: their own, or any as an issuer."""
	return issuer == user or is_issuer(issuer)


def is_issuer(user: str) -> bool:
	"""Whether `user` holds a role that may issue links for others."""
	return bool(set(ISSUER_ROLES) & set(frappe.get_roles(user)))


def can_issue_for(issuer: str, user: str) -> bool:
	"""Whether `issuer` may mint a session for `user` (see the module's docstring)."""
	if user == "Administrator":
		return False
	# Self-issue only where Webview Settings allow it: a link of one's own, opened in
	# someone else's browser, signs that browser in as oneself (login CSRF).
	if not is_issuer(issuer) and not (issuer == user and settings.get("allow_self_issue")):
		return False
	if frappe.db.get_value("User", user, "user_type") == "System User":
		if "System Manager" not in frappe.get_roles(issuer):
			return False
	wanted = settings.link_roles()
	return not wanted or bool(wanted & set(frappe.get_roles(user)))


def check_issue_rate(issuer: str) -> None:
	"""Raise RateLimitExceededError once `issuer` asked for more links this minute than allowed."""
	limit = settings.get("issue_rate_limit")
	if not limit:  # 0: off
		return
	asked, _retry_after = count_in_window("issue", issuer)
	if asked > limit:
		frappe.throw("Too many links asked for; try again in a minute.", frappe.RateLimitExceededError)


def issue_link(
	user: str,
	route: str,
	params: dict | None = None,
	ttl: int | None = None,
	device: str | None = None,
	issuer: str | None = None,
) -> dict:
	"""Return a single-use deep link signing `user` in to `route` with `params`, valid for `ttl` seconds."""
	issuer = issuer or frappe.session.user
	# The right first: whoever may not issue gets one answer, whether `user` exists or not.
	if not can_issue_for(frappe.session.user, user):
		raise frappe.PermissionError(f"You may not issue a webview link for {user}")
	if not frappe.db.get_value("User", user, "enabled"):
		frappe.throw(f"User {user} does not exist or is disabled", frappe.ValidationError)
	route = validate_route(route)
	params = page_params.check(route, params, user)
	ttl = DEFAULT_TTL if ttl is None else int(ttl)
	if not 1 <= ttl <= max_ttl():
		frappe.throw(f"ttl must be between 1 and {max_ttl()} seconds", frappe.ValidationError)
	token = new_token()
	digest = token_hash(token)
	now = time.time()
	claims = {"user": user, "route": route, "exp": now + ttl, "iat": now, "issuer": issuer, "device": device}
	claims["params"] = params
	frappe.cache.set(_claims_key(digest), json.dumps(claims), ex=ttl + USED_MARK_TTL)
	audit(f"Webview link issued by {issuer} for {route} (link {digest[:12]}, {ttl}s)", user, "Success")
	metrics.count("links_issued")
	query = page_params.query(params)
	return {
		"url": f"{get_url()}{route}?{query + '&' if query else ''}{scope.TOKEN_PARAM}={token}",
		"expires_in": ttl,
		"link_id": digest[:12],
	}


# -- redeem -------------------------------------------------------------------
def redeem(token: str, route: str, query: str = "") -> dict:
	"""Consume `token` for `route` with the query string `query` (less the token) and return its claims.

	Raise LinkError instead; a link asked for with other parameters than its own is refused
	without being used up, so the link as issued still opens.
	"""
	check_format(token)
	digest = token_hash(token)
	if issued := frappe.cache.get(_claims_key(digest)):
		check_target(json.loads(issued), route, query)
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
	if claims["iat"] <= _revoked_at(claims["user"]):
		raise refuse("revoked")
	check_target(claims, route, query)
	if not frappe.db.get_value("User", claims["user"], "enabled"):
		raise refuse("user_unavailable")
	return claims


def check_browser_session(claims: dict) -> None:
	"""LinkError when the redeeming browser holds a desk or website session of another user.

	Replacing it would sign its owner in as the link's user without a word (login CSRF).
	A webview session of another user is the kit's own, scoped to a page: it is replaced,
	so that an app's WebView can switch accounts.
	"""
	if frappe.session.user not in ("Guest", claims["user"]) and scope.current() is None:
		raise refuse("signed_in_as_other")


def check_target(claims: dict, route: str, query: str) -> None:
	"""Raise LinkError unless `claims` name `route` with exactly the parameters `query` encodes.

	Claims of links issued before links had parameters carry none.
	"""
	if claims["route"] != route.rstrip("/"):
		raise refuse("wrong_route")
	if not hmac.compare_digest(query.encode(), page_params.query(claims.get("params")).encode()):
		raise refuse("wrong_params")


def start_session(claims: dict) -> None:
	"""Sign the claims' user in with a brand-new session that reaches only the claims' route and parameters."""
	from frappe.auth import LoginManager

	lifetime = settings.get("session_lifetime")
	frappe.local.login_manager = login = LoginManager()
	compat.login_as(login, claims["user"], ends=time.time() + lifetime)
	scope.begin(claims["route"], lifetime, claims.get("params"))


# -- revoke -------------------------------------------------------------------
def webview_sessions(user: str | None = None) -> list[tuple[str, str, dict]]:
	"""(sid, user, session data) of every webview session, of `user` if given.

	Read from Frappe's own session table, not a cache, so that a restarted cache Redis
	hides none of them.
	"""
	sessions = frappe.qb.DocType("Sessions")
	query = (
		frappe.qb.from_(sessions)
		.select(sessions.sid, sessions.user, sessions.sessiondata)
		.where(sessions.sessiondata.like(f"%{scope.SESSION_KEY}%"))
	)
	if user:
		query = query.where(sessions.user == user)
	return [(sid, owner, compat.parse_session_data(data)) for sid, owner, data in query.run()]


def revoke(user: str) -> int:
	"""End every webview session of `user`, void their unused links, tell their pages; return how many ended."""
	from frappe.sessions import delete_session

	_mark_revoked(user, time.time())
	sids = [sid for sid, _user, _data in webview_sessions(user)]
	for sid in sids:
		delete_session(sid, user=user, reason="Webview session revoked")
	publish(user_room(user), EVENT_SESSION_ENDED, {"reason": "revoked"})
	audit(f"Webview sessions revoked ({len(sids)})", user, "Success")
	frappe.db.commit()
	return len(sids)


def prune_sessions() -> int:
	"""End webview sessions past their lifetime (`scheduler_events`: hourly); return how many."""
	from frappe.sessions import delete_session

	ended = 0
	for sid, user, data in webview_sessions():
		reach = scope.current({"user": user, "data": data})
		if reach is None or reach.expired:
			delete_session(sid, user=user, reason="Webview session lifetime ended")
			ended += 1
	return ended


def prune_revoke_marks() -> int:
	"""Delete revoke marks older than any link they could still void (`scheduler_events`: hourly)."""
	from frappe.utils import add_to_date

	cutoff = add_to_date(None, seconds=-(max_ttl() + USED_MARK_TTL))
	filters = {"parent": REVOKED_PARENT, "creation": ("<", cutoff)}
	stale = frappe.db.count("DefaultValue", filters)
	frappe.db.delete("DefaultValue", filters)
	return stale


# -- rate limits ----------------------------------------------------------------
@dataclass(frozen=True)
class RefusalVerdict:
	limited: bool
	retry_after: int


def count_in_window(what: str, who: str | None) -> tuple[int, int]:
	"""Count one `what` by `who`; return how many in the minute since their first, and seconds left of it."""
	key = frappe.cache.make_key(f"webview_kit:{what}:{who or '-'}")
	pipe = frappe.cache.pipeline(transaction=True)
	pipe.incr(key)
	pipe.expire(key, WINDOW, nx=True)
	pipe.ttl(key)
	counted, _set, left = pipe.execute()
	return int(counted), max(1, int(left))


def refusal_limit() -> int:
	"""Refused links an address may send in a minute before it gets 429; 0 means no limit."""
	return settings.get("redeem_rate_limit")


def note_refusal(ip: str | None, reason: str) -> RefusalVerdict:
	"""Count a refused redeem from `ip` in this minute, audit it, and say if `ip` is now limited.

	Only refusals count: phones behind one carrier NAT share an address, and their valid
	links must always redeem. The audit trail keeps the first `refusal_limit()` refusals of
	an address in a minute and one "rate limited" row when it crosses the limit; the rest
	are counted in metrics only, so a flood of junk cannot flood the Activity Log.
	"""
	refused, retry_after = count_in_window("refusals", ip)
	limit = refusal_limit()
	if not limit:  # 0: off, every refusal is audited and none is limited
		audit(f"Webview link refused: {reason}", None, "Failed")
		return RefusalVerdict(limited=False, retry_after=retry_after)
	if refused <= limit:
		audit(f"Webview link refused: {reason}", None, "Failed")
	elif refused == limit + 1:
		audit(f"Webview link refused: {RATE_LIMITED} after {limit} refusals in a minute", None, "Failed")
	return RefusalVerdict(limited=refused > limit, retry_after=retry_after)


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
