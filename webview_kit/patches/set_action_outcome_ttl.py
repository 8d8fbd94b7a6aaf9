"""Give sites whose Webview Settings were saved before actions the default outcome window.

A new field of a Single DocType has no value on a site that saved the document before it
existed, and Webview Settings' validation refuses an empty window on the next save.
"""

import frappe


def execute():
	if not frappe.db.get_single_value("Webview Settings", "action_outcome_ttl"):
		frappe.db.set_single_value("Webview Settings", "action_outcome_ttl", 24 * 3600)
