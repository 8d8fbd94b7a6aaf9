"""The demo order: a delivery whose webview (/webview/order) is made of live fragments.

Its status card, lines and totals are declared for the DocType (hooks.py
`webview_fragments`), so every save, from the desk or from `run`, re-renders them into
the order's room; its timeline grows by appended items. `run` is the background job of
`bench webview order`: it packs lines one by one, sends the order on its way with a
falling ETA, and delivers it.
"""

import json
import time
from pathlib import Path

import frappe
from frappe.share import add_docshare
from frappe.utils import now_datetime

from webview_kit.actions import action
from webview_kit.fragments import publish_fragment
from webview_kit.publish import Room, publish

ORDER = "Webview Demo Order"
ROUTE = "/webview/order"
TIMELINE = "webview_demo.order_timeline"
EVENT_ETA = "webview_demo.eta"
DEFINITIONS = Path(__file__).with_name("webview_demo_order.json")
ITEMS = [
	("Espresso beans 1 kg", 2, 18.5),
	("Oat milk", 6, 2.2),
	("Paper cups (100)", 3, 7.9),
	("Croissant", 12, 1.6),
]


def install() -> None:
	"""Create the order DocTypes (its lines and timeline first) unless they exist."""
	for definition in json.loads(DEFINITIONS.read_text()):
		if not frappe.db.exists("DocType", definition["name"]):
			frappe.get_doc(definition).insert(ignore_permissions=True)


def rooms(name: str, **_args) -> list[Room]:
	return [Room.of_doc(ORDER, name)]


def create(customer: str, share_with: str | None = None, write: bool = True) -> str:
	"""A new draft order for `customer`, shared with `share_with` (the driver: read and, with `write`, write); return its name."""
	doc = frappe.get_doc({"doctype": ORDER, "customer": customer, "status": "Draft"})
	doc.append("timeline", {"at": now_datetime(), "text": "Order placed"})
	doc.insert(ignore_permissions=True)
	if share_with:
		add_docshare(
			ORDER, doc.name, share_with, read=1, write=int(write), flags={"ignore_share_permission": True}
		)
	frappe.db.commit()
	return doc.name


def save(doc, *notes: str) -> None:
	"""Save `doc` with `notes` added to its timeline (as the session's user may); each note is appended to open pages."""
	entries = [doc.append("timeline", {"at": now_datetime(), "text": note}) for note in notes]
	doc.save()
	for entry in entries:
		publish_fragment(
			Room.of_doc(ORDER, doc.name), TIMELINE, {"entry": entry}, op="append", after_commit=True
		)


def log(name: str, count: int = 1, interval: float = 0.0, prefix: str = "Note") -> None:
	"""Add `count` timeline notes to order `name`, each in its own transaction."""
	for i in range(1, count + 1):
		save(frappe.get_doc(ORDER, name), f"{prefix} {i}")
		frappe.db.commit()
		if interval and i < count:
			time.sleep(interval)


def run(name: str, interval: float = 1.0) -> None:
	"""Pack, send and deliver order `name`, one step every `interval` seconds."""
	doc = frappe.get_doc(ORDER, name)
	doc.status = "Packing"
	save(doc, "Packing started")
	for item, qty, rate in ITEMS:
		frappe.db.commit()
		time.sleep(interval)
		doc.append("lines", {"item": item, "qty": qty, "rate": rate})
		save(doc, f"Packed {qty} × {item}")
	doc.status, doc.eta = "On the way", "15 min"
	save(doc, "Handed to the driver")
	frappe.db.commit()
	for minutes in (10, 5, 1):
		time.sleep(interval)
		publish(Room.of_doc(ORDER, name), EVENT_ETA, {"eta": f"{minutes} min"}, coalesce=True)
	time.sleep(interval)
	deliver(name)


@action(route=ROUTE, rooms=rooms, permission=("write", ORDER))
def deliver(name: str) -> dict:
	"""Mark order `name` delivered."""
	doc = frappe.get_doc(ORDER, name)
	doc.status, doc.eta = "Delivered", ""
	save(doc, "Delivered")
	return {"status": doc.status}


@action(route=ROUTE, rooms=rooms, permission=("write", ORDER))
def add_note(name: str, note: str) -> dict:
	"""Add the driver's note from the page to the timeline."""
	note = (note or "").strip()[:140]
	if not note:
		frappe.throw("Write a note first")
	save(frappe.get_doc(ORDER, name), f"Note: {note}")
	return {"note": note}
