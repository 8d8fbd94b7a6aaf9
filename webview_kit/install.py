"""Create what the app needs on a site: the role that may issue links for others."""

import frappe

ISSUER_ROLE = "Webview Issuer"


def after_install():
	if not frappe.db.exists("Role", ISSUER_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": ISSUER_ROLE, "desk_access": 0}).insert(
			ignore_permissions=True
		)
