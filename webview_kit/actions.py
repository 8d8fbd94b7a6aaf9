"""Webview actions: server functions a page runs with a tap, each invocation at most once.

Mark a function with `@action` and a page can run it with `<button data-action="...">`,
`<form data-action="...">` or `webviewKit.act(name, args)` (public/js/webview/actions.js)::

    from webview_kit.actions import action
    from webview_kit.publish import Room


    @action(
        route="/webview/orders",
        rooms=lambda name: [Room.of_doc("Sales Order", name)],
        permission=("write", "Sales Order"),
    )
    def approve(name: str, note: str | None = None) -> dict:
        doc = frappe.get_doc("Sales Order", name)
        ...

and list the module in your app's hooks.py: `webview_actions = ["myapp.orders"]`.

The function stays an ordinary function. What a page's call gets on top:

- its arguments checked against the signature (required, unknown, str/int/float/bool/
  dict/list, optionally `| None`): a 400 before the function runs;
- reach: a deep-link session runs only actions of its own page's `route`, and only on
  the rooms `rooms(...)` names (called with the arguments it asks for by name), which
  must be rooms its page declared;
- permission, for every session: `permission=(ptype, doctype)` is checked with Frappe's
  `has_permission` on each document of `doctype` the rooms name (`permission="read"`:
  on every document they name), before the function runs; `permission=None` says the
  function checks for itself. Every action says which: leaving it out is a TypeError;
- exactly once: the device names each invocation with an id; the outcome is a row of
  *Webview Action* written in the same transaction as the function's effects (see `run`).

An action name is the function's dotted path. A name is resolved only in the modules an
installed app lists in its `webview_actions` hook, and a function that is not marked is
never run, whatever its module holds.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass

import frappe
from frappe.permissions import rights as PERMISSION_TYPES
from frappe.utils import add_to_date, now_datetime

from webview_kit import scope, settings
from webview_kit.infra import metrics
from webview_kit.rooms import DOC, Room

__all__ = [
	"REGISTRY",
	"Action",
	"ActionArgumentError",
	"ActionConflict",
	"Outcome",
	"UnknownAction",
	"action",
	"action_modules",
	"check_args",
	"check_permission",
	"prune_outcomes",
	"resolve",
	"run",
]

DOCTYPE = "Webview Action"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_NAME = 200
SIMPLE_TYPES = (str, int, float, bool, dict, list)
RUNNING, DONE = "running", "done"
OTHER_PAGE = "This action belongs to another page."
NOT_PERMITTED = "You may not do this to this document."
UNSET = object()  # `permission=` left out: refused at import


class ActionArgumentError(frappe.ValidationError):
	"""Arguments that do not fit the action's signature."""

	http_status_code = 400


class UnknownAction(frappe.DoesNotExistError):
	"""No marked action has this name."""


class ActionConflict(frappe.ValidationError):
	"""An id reused for another invocation, or one whose first run ended half-way."""

	http_status_code = 409


@dataclass(frozen=True)
class Param:
	name: str
	type: type
	optional: bool  # None is a valid value
	required: bool  # no default


@dataclass(frozen=True)
class Action:
	"""A marked function: what it is called, which page it belongs to, what it takes."""

	name: str
	fn: Callable
	route: str
	rooms: Callable | None
	params: dict[str, Param]
	permission: tuple[str, str | None] | None  # (ptype, doctype or None for any); None: its own


REGISTRY: dict[str, Action] = {}


def action(route: str, rooms: Callable | None = None, *, permission=UNSET) -> Callable:
	"""Mark a function as an action of the webview page at `route`; it stays callable as before.

	`rooms` returns the rooms an invocation touches (Room or room strings), from the
	arguments it names; a deep-link session may act only on rooms its page declared.
	`permission` is what the session's user needs on the documents those rooms name:
	`(ptype, doctype)`, a bare `ptype` for any document they name, or None when the
	function checks for itself.
	"""
	if not isinstance(route, str) or not route.startswith(scope.ROUTE_PREFIX):
		raise TypeError(f"route must be a webview page route (/webview/...), got {route!r}")
	needs = _permission(permission, rooms)

	def mark(fn: Callable) -> Callable:
		name = f"{fn.__module__}.{fn.__name__}"
		REGISTRY[name] = Action(name, fn, route.rstrip("/"), rooms, _params(fn), needs)
		return fn

	return mark


def _permission(permission, rooms: Callable | None) -> tuple[str, str | None] | None:
	"""`permission=` as (ptype, doctype or None); TypeError (at import) when missing or malformed."""
	if permission is UNSET:
		raise TypeError(
			'an action declares its permission: permission=("write", "DocType"), permission="read" '
			"(on every document its rooms name) or permission=None (the function checks itself)"
		)
	if permission is None:
		return None
	if isinstance(permission, str):
		permission = (permission, None)
	if not (isinstance(permission, tuple) and len(permission) == 2):
		raise TypeError(f"permission must be (ptype, doctype), a ptype or None, got {permission!r}")
	ptype, doctype = permission
	if ptype not in PERMISSION_TYPES or not (doctype is None or isinstance(doctype, str)):
		raise TypeError(f"permission must name a Frappe ptype ({', '.join(PERMISSION_TYPES)}), got {ptype!r}")
	if rooms is None:
		raise TypeError("an action with a permission names its documents with rooms=")
	return ptype, doctype


def _params(fn: Callable) -> dict[str, Param]:
	"""The checkable parameters of `fn`; TypeError (at import) for one we could not check."""
	hints = typing.get_type_hints(fn)
	params = {}
	for p in inspect.signature(fn).parameters.values():
		if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
			raise TypeError(f"{fn.__name__}: an action takes named arguments only, not {p}")
		hint = hints.get(p.name)
		members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else ()
		optional = type(None) in members
		base = next((m for m in members if m is not type(None)), None) if members else hint
		if base not in SIMPLE_TYPES or len(members) > 2:
			raise TypeError(
				f"{fn.__name__}({p.name}): annotate with str, int, float, bool, dict or list (or `| None`)"
			)
		params[p.name] = Param(p.name, base, optional, p.default is p.empty)
	return params


# -- resolving and checking an invocation ---------------------------------------------
def action_modules() -> set[str]:
	"""The modules whose actions this site runs: what its installed apps list in `webview_actions`."""
	return set(frappe.get_hooks("webview_actions"))


def resolve(name) -> Action:
	"""The marked action called `name`; UnknownAction for anything else, without running it."""
	if not isinstance(name, str) or len(name) > MAX_NAME or not NAME_RE.match(name):
		raise UnknownAction("No such webview action")
	# Only declared modules: the demo's and test helpers' actions do not exist where their
	# app is not installed, and no other module of any app is imported on a request's say.
	if name.rpartition(".")[0] not in action_modules():
		raise UnknownAction(f"No webview action named {name!r}")
	if name not in REGISTRY:
		try:
			importlib.import_module(name.rpartition(".")[0])
		except ImportError:
			raise UnknownAction(f"No webview action named {name!r}")
	found = REGISTRY.get(name)
	if found is None:
		raise UnknownAction(f"No webview action named {name!r}")
	return found


def _json_type(value) -> str:
	names = {bool: "a boolean", int: "a number", float: "a number", str: "text", dict: "an object"}
	return "null" if value is None else names.get(type(value), "a list" if isinstance(value, list) else "?")


def _fits(value, wanted: type) -> bool:
	if wanted is float:
		return isinstance(value, int | float) and not isinstance(value, bool)
	if wanted is int:
		return isinstance(value, int) and not isinstance(value, bool)
	return isinstance(value, wanted)


TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", dict: "an object"}


def check_args(spec: Action, args) -> dict:
	"""`args` checked against `spec`'s signature, or ActionArgumentError naming what is wrong."""
	if args is None:
		args = {}
	if not isinstance(args, dict):
		raise ActionArgumentError("Arguments must be an object of named values")
	unknown = sorted(set(args) - set(spec.params))
	if unknown:
		raise ActionArgumentError(f"Unknown argument {', '.join(map(repr, unknown))} for {spec.name}")
	missing = [p.name for p in spec.params.values() if p.required and p.name not in args]
	if missing:
		raise ActionArgumentError(f"Missing argument {', '.join(map(repr, missing))} for {spec.name}")
	checked = {}
	for key, value in args.items():
		param = spec.params[key]
		if value is None and param.optional:
			checked[key] = None
		elif _fits(value, param.type):
			checked[key] = float(value) if param.type is float else value
		else:
			wanted = TYPE_NAMES.get(param.type, "a list")
			raise ActionArgumentError(f"Argument {key!r} must be {wanted}, not {_json_type(value)}")
	return checked


def check_reach(spec: Action, args: dict) -> None:
	"""PermissionError unless this session may run `spec` with `args` (deep-link sessions only)."""
	reach = scope.current()
	if reach is None:
		return
	if reach.route != spec.route:
		raise frappe.PermissionError(OTHER_PAGE)
	for room in _rooms(spec, args):
		if not reach.allows_room(str(room)):
			raise frappe.PermissionError(scope.ONE_PAGE_ONLY)


def check_permission(spec: Action, args: dict) -> None:
	"""PermissionError unless the user has `spec`'s permission on each document its rooms name."""
	if spec.permission is None:
		return
	ptype, doctype = spec.permission
	documents = [r for r in _rooms(spec, args) if r.kind == DOC and doctype in (None, r.doctype)]
	# No document to check is a refusal too: a check that finds nothing must not pass.
	if not documents or not all(room.permits(frappe.session.user, ptype) for room in documents):
		raise frappe.PermissionError(NOT_PERMITTED)


def _rooms(spec: Action, args: dict) -> list[Room]:
	"""The rooms an invocation of `spec` with `args` touches."""
	if not spec.rooms:
		return []
	wanted = inspect.signature(spec.rooms).parameters
	return [Room.parse(room) for room in spec.rooms(**{k: args.get(k) for k in wanted})]


# -- exactly once -----------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
	result: object
	replayed: bool  # True: the stored outcome of an earlier run of this id


def _key(user: str, invocation: str) -> str:
	# Per user: another user's id (guessed or seen) neither blocks nor reads this one's outcome.
	return hashlib.sha256(f"{user}\n{invocation}".encode()).hexdigest()


def _fingerprint(name: str, args: dict) -> str:
	return hashlib.sha256(frappe.as_json([name, args], indent=None).encode()).hexdigest()


def run(name, args, invocation) -> Outcome:
	"""Run action `name` with `args` once for id `invocation`, or return that id's stored outcome.

	Call it inside the request's transaction and let the request commit it. The outcome row
	is inserted (status running) before the function runs, so a concurrent request with the
	same id waits on MariaDB's lock of that row, then reads the first one's outcome; when the
	first request rolls back (an error, a killed worker), the row goes with its effects and
	the waiting request runs the function itself. A function that raises leaves no row: its
	effects were rolled back, and the same id may run again.
	"""
	spec = resolve(name)
	args = check_args(spec, args)
	check_reach(spec, args)
	check_permission(spec, args)
	if not isinstance(invocation, str) or not ID_RE.match(invocation):
		raise ActionArgumentError("An action needs an id of 16 to 64 letters, digits, - or _")
	key, fingerprint = _key(frappe.session.user, invocation), _fingerprint(spec.name, args)
	stored = _claim(key, spec.name, fingerprint)
	if stored is not None:
		return _stored_outcome(stored, fingerprint)
	result = json.loads(frappe.as_json(spec.fn(**args), indent=None))
	frappe.db.sql(
		"update `tabWebview Action` set status=%s, result=%s, modified=%s where name=%s",
		(DONE, json.dumps(result), now_datetime(), key),
	)
	metrics.count("actions_run")
	return Outcome(result, replayed=False)


def _claim(key: str, name: str, fingerprint: str) -> dict | None:
	"""Insert the outcome row for `key` and return None; or, if it exists, return the committed row."""
	now = now_datetime()
	try:
		frappe.db.sql(
			"""insert into `tabWebview Action`
			(name, creation, modified, owner, modified_by, action, status, fingerprint)
			values (%s, %s, %s, %s, %s, %s, %s, %s)""",
			(key, now, now, frappe.session.user, frappe.session.user, name, RUNNING, fingerprint),
		)
		return None
	except Exception as e:
		if not frappe.db.is_duplicate_entry(e):
			raise
	# A locking read sees the latest committed row, whatever this transaction's snapshot;
	# a shared lock, so that several waiters never deadlock upgrading theirs.
	rows = frappe.db.sql(
		"select action, status, fingerprint, result from `tabWebview Action` where name=%s lock in share mode",
		key,
		as_dict=True,
	)
	if not rows:  # pruned between the two statements: run it
		return _claim(key, name, fingerprint)
	return rows[0]


def _stored_outcome(row: dict, fingerprint: str) -> Outcome:
	if row.fingerprint != fingerprint:
		raise ActionConflict("This action id was already used for another action or other arguments.")
	if row.status != DONE:
		# Only an action that commits on its own leaves a running row behind: part of its
		# work is saved, and nobody can tell how much.
		raise ActionConflict("This action stopped half-way on an earlier try; check before trying again.")
	metrics.count("actions_replayed")
	return Outcome(json.loads(row.result) if row.result else None, replayed=True)


def prune_outcomes() -> int:
	"""Delete outcomes older than the `action_outcome_ttl` setting (`scheduler_events`: hourly)."""
	cutoff = add_to_date(now_datetime(), seconds=-settings.get("action_outcome_ttl"))
	frappe.db.sql("delete from `tabWebview Action` where creation < %s", cutoff)
	return frappe.db.sql("select row_count()")[0][0]
