"""Stock Frappe doing what the workflow page's comment action does, its own way (for the benchmark).

A whitelisted method that saves and `publish_realtime`s to the document's room after
commit, called with `frappe.call` from a page that follows it with `frappe.realtime.on`:
no invocation id, no stored outcome, no catch-up.
"""

import frappe
from frappe.utils import escape_html

STOCK_EVENT = "bench_comment"


@frappe.whitelist(methods=["POST"])
def add_comment(doctype: str, name: str, text: str) -> dict:
	"""Add a comment to a document you may read and tell the document's room."""
	doc = frappe.get_doc(doctype, name)
	doc.check_permission("read")
	comment = doc.add_comment("Comment", escape_html(text))
	data = {"name": comment.name, "text": text}
	frappe.publish_realtime(STOCK_EVENT, data, doctype=doctype, docname=name, after_commit=True)
	return data
