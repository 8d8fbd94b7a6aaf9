"""The one way the demo, the tests and the benchmarks make their users."""

from __future__ import annotations

import frappe

NO_GRAVATAR = "/assets/webview_kit/images/user.svg"  # skips the gravatar job, which has no internet here


def ensure_user(
	email: str,
	first_name: str = "Webview",
	roles: tuple[str, ...] = (),
	*,
	exact_roles: bool = False,
	enabled: bool = True,
	simultaneous_sessions: int | None = None,
	password: str | None = None,
) -> str:
	"""Create website user `email` unless it exists, and bring it to what is asked; return its name.

	`roles` are added (with `exact_roles`, every other role of the user's is removed).
	"""
	if not frappe.db.exists("User", email):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": first_name,
				"send_welcome_email": 0,
				"user_type": "Website User",
				"user_image": NO_GRAVATAR,
			}
		)
		# Demo and test users come in batches; Frappe's sign-up throttle is for strangers.
		frappe.flags.in_import = True
		try:
			user.insert(ignore_permissions=True)
		finally:
			frappe.flags.in_import = False
	user = frappe.get_doc("User", email)
	changed = user.enabled != int(enabled)
	user.enabled = int(enabled)
	if simultaneous_sessions and user.simultaneous_sessions != simultaneous_sessions:
		user.simultaneous_sessions = simultaneous_sessions
		changed = True
	if changed:
		user.save(ignore_permissions=True)
	if exact_roles and (extra := [row.role for row in user.roles if row.role not in roles]):
		user.remove_roles(*extra)
	if missing := set(roles) - {row.role for row in user.roles}:
		user.add_roles(*missing)
	if password:
		from frappe.utils.password import update_password

		update_password(email, password)
	frappe.db.commit()
	return user.name


def new_api_key(user: str) -> str:
	"""Give `user` a fresh API secret and return `key:secret` for an Authorization header."""
	doc = frappe.get_doc("User", user)
	doc.api_key = doc.api_key or frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.save(ignore_permissions=True)
	frappe.db.commit()
	return f"{doc.api_key}:{secret}"
