# Copyright (c) 2026, webview_kit developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from webview_kit.settings import OFF_AT_ZERO, forget_read, lines

# setting: (least, most); the settings in OFF_AT_ZERO may also be 0, meaning off
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
			self.validate_bounded(name, least, most)
		for doctype in lines(self.live_doctypes):
			if not frappe.db.exists("DocType", doctype):
				frappe.throw(f"Live DocTypes: no DocType {doctype!r}", frappe.ValidationError)
			if frappe.get_meta(doctype).issingle or frappe.get_meta(doctype).istable:
				frappe.throw(f"Live DocTypes: {doctype} is a single or child DocType", frappe.ValidationError)
		for role in lines(self.link_roles):
			if not frappe.db.exists("Role", role):
				frappe.throw(f"Roles a link may be issued for: no role {role!r}", frappe.ValidationError)

	def validate_bounded(self, name: str, least: int, most: int) -> None:
		"""Keep setting `name` within its bounds, 0 only where 0 means off; empty becomes the default."""
		value = self.get(name)
		if value in (None, ""):
			# Empty means the default, as settings.get reads it: a field added after a site
			# last saved these settings is empty there until someone saves it.
			self.set(name, int(self.meta.get_field(name).default))
			return
		value = int(value)
		label = _(self.meta.get_label(name))
		default = f"{int(self.meta.get_field(name).default):,}"
		if name in OFF_AT_ZERO:
			if value != 0 and not least <= value <= most:
				message = _("{0} must be between {1} and {2}, or 0 for no limit")
				frappe.throw(message.format(label, f"{least:,}", f"{most:,}"), frappe.ValidationError)
		elif value == 0:
			message = _("{0} cannot be 0, as it cannot be turned off; leave it empty for the default ({1})")
			frappe.throw(message.format(label, default), frappe.ValidationError)
		elif not least <= value <= most:
			message = _("{0} must be between {1} and {2}")
			frappe.throw(message.format(label, f"{least:,}", f"{most:,}"), frappe.ValidationError)
