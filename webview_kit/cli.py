"""What every bench command of the app shares."""

import frappe
from frappe.exceptions import SiteNotSpecifiedError

__all__ = ["on_each_site"]


def on_each_site(context, work) -> None:
	"""Run `work()` connected to each site of `context`, as Frappe's own commands do."""
	if not context.sites:
		raise SiteNotSpecifiedError
	for site in context.sites:
		try:
			frappe.init(site=site)
			frappe.connect()
			work()
		finally:
			frappe.destroy()
