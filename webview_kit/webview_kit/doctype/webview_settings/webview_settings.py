# Copyright (c) 2026, webview_kit developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from webview_kit.settings import forget_read, lines

# setting: (least, most)
BOUNDS = {
	"link_max_ttl": (10, 24 * 3600),
	"session_lifetime": (300, 30 * 24 * 3600),
	"redeem_rate_limit": (1, 100_000),
	"issue_rate_limit": (1, 1_000_000),
	"history_length": (10, 100_000),
	"history_ttl": (60, 30 * 24 * 3600),
	"max_payload": (1024, 1024 * 1024),
	"presence_lease": (3, 3600),
	"action_outcome_ttl": (60, 30 * 24 * 3600),
	"history_room_kb": (16, 1024 * 1024),
	"history_budget_mb": (1, 1024 * 1024),
	"presence_max_viewers": (1, 10_000),
	"presence_rate_limit": (1, 100_000),
}


class WebviewSettings(Document):
	"""What an admin tunes; read through `webview_kit.settings.get`."""

	def on_update(self):
		forget_read()

	def validate(self):
		for name, (least, most) in BOUNDS.items():
			value = self.get(name)
			if value in (None, "", 0):
				# Empty means the default, as settings.get reads it: a field added after a
				# site last saved these settings is empty there until someone saves it.
				value = int(self.meta.get_field(name).default)
				self.set(name, value)
			if not least <= int(value) <= most:
				label = self.meta.get_label(name)
				frappe.throw(f"{label} must be between {least:,} and {most:,}", frappe.ValidationError)
		for doctype in lines(self.live_doctypes):
			if not frappe.db.exists("DocType", doctype):
				frappe.throw(f"Live DocTypes: no DocType {doctype!r}", frappe.ValidationError)
			if frappe.get_meta(doctype).issingle or frappe.get_meta(doctype).istable:
				frappe.throw(f"Live DocTypes: {doctype} is a single or child DocType", frappe.ValidationError)
		for role in lines(self.link_roles):
			if not frappe.db.exists("Role", role):
				frappe.throw(f"Roles a link may be issued for: no role {role!r}", frappe.ValidationError)
