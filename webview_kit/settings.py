"""What an admin tunes, read through one accessor: `settings.get("history_length")`.

The values live in the *Webview Settings* single DocType (desk: /app/webview-settings),
validated there and cached by Frappe's document cache. A site-config key
`webview_<name>` still overrides one, for one release, so sites that set them before
keep working; new sites should use the DocType. Infrastructure and secrets (the metrics
token, the socket probe URL) stay in site config.
"""

from __future__ import annotations

import frappe

from webview_kit.webview_kit.doctype.webview_settings.webview_settings import lines

__all__ = ["DEFAULTS", "get", "link_roles", "live_doctypes"]

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
}


def get(name: str):
	"""The value of setting `name`, as the type of its default."""
	default = DEFAULTS[name]
	value = frappe.conf.get(f"webview_{name}")  # deprecated override, see the module docstring
	if value in (None, ""):
		value = _stored().get(name)
	if value in (None, "", 0):
		return default
	return type(default)(value)


def live_doctypes() -> set[str]:
	"""DocTypes whose changes reach webviews: the setting's and the `webview_live_doctypes` hook's."""
	return {*lines(get("live_doctypes")), *frappe.get_hooks("webview_live_doctypes")}


def link_roles() -> set[str]:
	return set(lines(get("link_roles")))


def _stored():
	"""The settings document from Frappe's document cache (kept per request, invalidated on save)."""
	try:
		return frappe.get_cached_doc(DOCTYPE)
	except frappe.DoesNotExistError:  # before the app's first migrate
		return {}
