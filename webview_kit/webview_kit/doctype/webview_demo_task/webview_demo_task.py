# Copyright (c) 2025, webview_kit developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class WebviewDemoTask(Document):
	"""A task for the demo webviews; who may read one is decided by sharing it (DocShare)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		description: DF.SmallText | None
		priority: DF.Literal["Low", "Medium", "High"]
		progress: DF.Percent
		status: DF.Literal["Open", "Working", "Done"]
		title: DF.Data
	# end: auto-generated types

	pass
