# Copyright (c) 2026, webview_kit developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class WebviewAction(Document):
	"""One action invocation's outcome; written and read by `webview_kit.actions` in raw SQL."""
