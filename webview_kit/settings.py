"""What an admin tunes, read through one accessor: `settings.get("history_length")`.

The values live in the *Webview Settings* single DocType (desk: /app/webview-settings),
validated there, and are read once per request or background job. A site-config key
`webview_<name>` still overrides one, for one release, so sites that set them before
keep working; new sites should use the DocType. Infrastructure and secrets (the metrics
token, the socket probe URL) stay in site config.
"""

from __future__ import annotations

import frappe

__all__ = ["DEFAULTS", "OFF_AT_ZERO", "get", "link_roles", "live_doctypes"]

DOCTYPE = "Webview Settings"
DEFAULTS: dict[str, object] = {
	"link_max_ttl": 900,
	"session_lifetime": 12 * 3600,
	"redeem_rate_limit": 30,
	"issue_rate_limit": 600,
	"link_roles": "",
	"history_length": 1000,
	"history_ttl": 24 * 3600,
	"max_payload": 64 * 1024,
	"presence_lease": 45,
	"live_doctypes": "",
	"realtime_on_web_pages": 0,
	"action_outcome_ttl": 24 * 3600,
	"history_room_kb": 1024,
	"history_budget_mb": 256,
	"presence_max_viewers": 50,
	"presence_rate_limit": 60,
}

# The numeric settings for which 0 means "off" (no limit). Every other one refuses 0 when
# saved: a link, session, history or lease of no length is not a thing that can be off.
OFF_AT_ZERO = frozenset({"redeem_rate_limit", "issue_rate_limit"})


def get(name: str):
	"""The value of setting `name`, as the type of its default; unset (never saved) is the default.

	0 is a value like any other: for the settings in `OFF_AT_ZERO` it means off, and the
	DocType refuses it for the rest.
	"""
	default = DEFAULTS[name]
	value = frappe.conf.get(f"webview_{name}")  # deprecated override, see the module docstring
	if value in (None, ""):
		value = _stored().get(name)
	if value in (None, ""):
		return default
	return type(default)(value)


def live_doctypes() -> set[str]:
	"""DocTypes whose changes reach webviews: the setting's and the `webview_live_doctypes` hook's."""
	return {*lines(get("live_doctypes")), *frappe.get_hooks("webview_live_doctypes")}


def link_roles() -> set[str]:
	return set(lines(get("link_roles")))


def lines(text: str | None) -> list[str]:
	"""The non-empty lines of a one-item-a-line field."""
	return [line.strip() for line in (text or "").splitlines() if line.strip()]


def forget_read() -> None:
	"""Read the settings afresh at the next get (the document calls it when saved)."""
	frappe.local.webview_settings = None


def _stored() -> dict:
	"""The stored settings, read once per request or job from the database.

	Not from Frappe's shared document cache: a request or job whose transaction began
	before a save reads the old values from its snapshot and can put them back into that
	cache after the save cleared it, where they stay until the next save.
	"""
	stored = getattr(frappe.local, "webview_settings", None)
	if stored is None:
		stored = frappe.local.webview_settings = frappe.db.get_singles_dict(DOCTYPE, cast=True)
	return stored
