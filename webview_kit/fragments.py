"""Live fragments: the server renders a piece of a page and pushes it to a room.

A fragment is declared once, in an app's hooks.py, by a name and its templates::

    webview_fragments = {
        "order-lines": {
            "template": "myapp/templates/order_lines.html",
            "item": "myapp/templates/order_line.html",
        },
        "order-status": {"template": "myapp/templates/order_status.html", "doctype": "Sales Order"},
    }

A page renders it in place with the same template, so it is complete before its socket
connects::

    <ul data-fragment="order-lines">{{ webview_fragment("order-lines", order=doc) }}</ul>

and a publisher pushes operations on it, to everyone in a room::

    publish_fragment(room, "order-lines", {"order": doc})  # update: the content
    publish_fragment(room, "order-lines", {"line": line}, op="append")  # the item template
    publish_fragment(room, "order-lines", op="remove", item="line-3")

A target is a fragment's name, optionally followed by `:` and an instance (the live list
uses `webview_kit.list_rows:<DocType>`). Fragments render with autoescaping on, whatever
Frappe's own Jinja does, once per publish in the publisher's process: everyone in the room
gets the same HTML, so per-user content belongs in per-user rooms. A fragment declared with
a `doctype` is rendered into `doc:<doctype>/<name>` after every save, with `doc` in its
context. Delivery is the events' own: ordered, caught up after a reconnect; `update`,
`replace` and `remove` of a target coalesce (history keeps the newest), items stay in order.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass

import frappe
from markupsafe import Markup

from webview_kit import settings
from webview_kit.publish import Event, PublishError, Room, doc_room, publish_many

__all__ = [
	"EVENT_FRAGMENT",
	"OPS",
	"Fragment",
	"doc_fragment_events",
	"fragment_event",
	"publish_fragment",
	"render",
	"webview_fragment",
]

EVENT_FRAGMENT = "webview_kit.fragment"
OPS = ("update", "replace", "append", "prepend", "remove")
ITEM_OPS = ("append", "prepend")
MAX_TARGET = 200
# The id of an item's root element: items are keyed by it, so a replayed append is not doubled.
_ROOT_ID = re.compile(r'^\s*<[a-zA-Z][\w-]*(?:\s[^>]*?)?\sid="([^"]+)"')


@dataclass(frozen=True)
class Fragment:
	name: str
	template: str
	item: str | None = None
	doctype: str | None = None


def declared() -> dict[str, Fragment]:
	"""Every app's `webview_fragments`, by name (a later app's declaration wins).

	Read once per request or job: every save of every DocType asks (doc_fragment_events).
	"""
	cached = getattr(frappe.local, "webview_kit_fragments", None)
	if cached is None:
		cached = frappe.local.webview_kit_fragments = _from_hooks()
	return cached


def _from_hooks() -> dict[str, Fragment]:
	fragments = {}
	for name, spec in (frappe.get_hooks("webview_fragments") or {}).items():
		# Frappe gathers each key of a dict hook into a list, one entry per app.
		last = {key: values[-1] if isinstance(values, list) else values for key, values in spec.items()}
		fragments[name] = Fragment(name, last["template"], last.get("item"), last.get("doctype"))
	return fragments


def lookup(target: str) -> Fragment:
	"""The fragment `target` names (`<name>` or `<name>:<instance>`), or PublishError."""
	if not isinstance(target, str) or not target or len(target) > MAX_TARGET:
		raise PublishError(f"A fragment target is a declared name of at most {MAX_TARGET} characters")
	name = target.split(":", 1)[0]
	fragment = declared().get(name)
	if not fragment:
		raise PublishError(f"Unknown fragment {name!r}: declare it in an app's hooks.py `webview_fragments`")
	return fragment


def _environment():
	"""Frappe's Jinja environment (its loader, globals and filters) with autoescaping on."""
	jenv = frappe.get_jenv()
	cached = getattr(frappe.local, "webview_kit_fragment_env", None)
	if not cached or cached[0] is not jenv:
		frappe.local.webview_kit_fragment_env = (jenv, jenv.overlay(autoescape=True))
	return frappe.local.webview_kit_fragment_env[1]


def render(target: str, context: dict | None = None, item: bool = False) -> Markup:
	"""Render `target`'s template (or its item template), escaped, as the page and publishers do."""
	fragment = lookup(target)
	path = fragment.item if item else fragment.template
	if not path:
		raise PublishError(
			f"Fragment {fragment.name!r} declares no item template, needed to append or prepend"
		)
	context = {**(context or {}), "fragment_target": target}
	return Markup(_environment().get_template(path).render(context))


def webview_fragment(target: str, **context) -> Markup:
	"""Jinja: a fragment's content for the first render, `{{ webview_fragment("name", doc=doc) }}`."""
	return render(target, context)


def fragment_event(
	room: str, target: str, context: dict | None = None, *, op: str = "update", item: str | None = None
) -> Event:
	"""The event that performs `op` on `target` in the pages of `room`; rendered now, or PublishError."""
	if op not in OPS:
		raise PublishError(f"Unknown fragment operation {op!r}: use one of {', '.join(OPS)}")
	data = {"target": target, "op": op, "html": _render_checked(target, context, op)}
	if op in ITEM_OPS:
		match = _ROOT_ID.match(data["html"])
		if not match:
			raise PublishError(
				f"Fragment {target!r}: an item must render one element with an id, to key it by"
			)
		data["id"] = htmllib.unescape(match.group(1))
	elif item:
		if op != "remove":
			raise PublishError(
				"`item` names the element to remove; update and replace act on the whole target"
			)
		data["id"] = item
	limit = settings.get("max_payload")
	if len(data["html"]) > limit:
		raise PublishError(
			f"Fragment {target!r} renders to {len(data['html'])} bytes, over the {limit}-byte limit"
		)
	# The newest whole-target operation is all a late page needs; items keep their order.
	whole = op in ("update", "replace") or (op == "remove" and not item)
	return Event(room, EVENT_FRAGMENT, data, f"{EVENT_FRAGMENT}:{target}" if whole else False)


def _render_checked(target: str, context: dict | None, op: str) -> str:
	if op == "remove":
		lookup(target)
		return ""
	try:
		return str(render(target, context, item=op in ITEM_OPS))
	except PublishError:
		raise
	except Exception as e:
		raise PublishError(
			f"Fragment {target!r} did not render, nothing was published: {type(e).__name__}: {e}"
		) from e


def publish_fragment(
	room: Room | str,
	target: str,
	context: dict | None = None,
	*,
	op: str = "update",
	item: str | None = None,
	after_commit: bool = False,
	retries: int = 0,
) -> int | None:
	"""Render `target` with `context` and push `op` to the pages of `room`; return its sequence.

	`op`: update (the target's content, the default), replace (the target itself), append or
	prepend (an item rendered by the item template, keyed by its root element's id, so an
	item already there is updated in place), remove (the target, or its child `item` by id).
	A template that raises, an unknown target or an oversized result raise PublishError
	here, and nothing is published.
	"""
	event = fragment_event(room, target, context, op=op, item=item)
	return publish_many([event], after_commit=after_commit, retries=retries)[0]


def doc_fragment_events(doc) -> list[Event]:
	"""An update of each fragment declared for `doc`'s DocType, to the document's room."""
	room = None
	events = []
	for fragment in declared().values():
		if fragment.doctype == doc.doctype:
			room = room or doc_room(doc.doctype, doc.name)
			events.append(fragment_event(room, fragment.name, {"doc": doc}))
	return events
