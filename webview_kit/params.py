"""What a webview page takes: the parameters it declares, their bounds, and their one encoding.

A deep link opens one route with the parameters it was issued with, and nothing else. A
page declares the parameters it takes once, as `webview_params` in its `www` controller::

    webview_params = ("job",)  # required, plain text
    webview_params = {"name": "Sales Order"}  # names a Sales Order
    webview_params = {"doctype": Param(required=False), "name": Param(doctype=doctype_of)}

A page that declares none takes none. `check` is what `auth.issue_link` asks: exactly the
declared parameters, short plain text each, and every document they name readable by the
link's user. The link's claims carry them, its session's scope holds them, and the page
reads them from there (`scope.page_params`); `query` is the one way they are written in a URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import frappe

__all__ = ["MAX_PARAMS", "MAX_VALUE", "Param", "check", "declared", "parse", "query"]

DECLARATION = "webview_params"  # the attribute of a page's controller module
MAX_VALUE = 140  # characters of one value: a document name, a job id
MAX_PARAMS = 10


@dataclass(frozen=True)
class Param:
	"""One parameter a page takes.

	`doctype` says the value names a document: of that DocType, or of the one that
	`doctype(params)` returns (for a page whose DocType is itself a parameter). Issuing
	refuses a link for a document its user cannot read.
	"""

	doctype: str | Callable[[dict], str] | None = None
	required: bool = True


def declared(route: str) -> dict[str, Param]:
	"""The parameters the page at `route` declares (none when its controller declares none)."""
	module = _controller(route)
	return _normalise(getattr(module, DECLARATION, ()) if module else ())


def _controller(route: str):
	"""The `www` controller module Frappe's website router renders `route` with, if any."""
	from frappe.website.page_renderers.template_page import TemplatePage
	from frappe.website.path_resolver import PathResolver

	_endpoint, page = PathResolver(route).resolve()
	if not isinstance(page, TemplatePage):
		return None
	page.set_pymodule()
	return frappe.get_module(page.pymodule_name) if page.pymodule_name else None


def _normalise(declaration) -> dict[str, Param]:
	if isinstance(declaration, str):
		declaration = (declaration,)
	if not isinstance(declaration, Mapping):
		declaration = dict.fromkeys(declaration)
	return {
		name: spec if isinstance(spec, Param) else Param(doctype=spec) for name, spec in declaration.items()
	}


def query(params: Mapping[str, str] | None) -> str:
	"""The one encoding of `params` in a URL: sorted by name, everything but [A-Za-z0-9_.~-] percent-encoded."""
	return urlencode(sorted((params or {}).items()), quote_via=quote)


def parse(value) -> dict:
	"""`params` as a caller sends it (None, a dict, or a JSON object as text) as a dict."""
	if value in (None, ""):
		return {}
	if isinstance(value, str):
		try:
			value = json.loads(value)
		except ValueError:
			value = None
	if not isinstance(value, dict):
		frappe.throw(
			frappe._('params must be an object of text values, as JSON: {"name": "SO-0001"}'),
			frappe.ValidationError,
		)
	return value


def check(route: str, params: Mapping | None, user: str) -> dict[str, str]:
	"""Return `params` if the page at `route` takes exactly them and `user` may read what they name.

	Otherwise throw a ValidationError (417) that names the parameter.
	"""
	params = dict(params or {})
	takes = declared(route)
	if len(params) > MAX_PARAMS:
		_refuse(frappe._("at most {0} parameters").format(MAX_PARAMS))
	for name, value in params.items():
		if name not in takes:
			shown = repr(name)[:60]
			if takes:
				_refuse(frappe._("{0} takes no parameter {1}").format(route, shown))
			_refuse(frappe._("{0} takes no parameters, got {1}").format(route, shown))
		_check_value(name, value)
	for name, spec in takes.items():
		if spec.required and name not in params:
			_refuse(frappe._("{0} needs the parameter '{1}'").format(route, name))
	for name, spec in takes.items():
		if spec.doctype and name in params:
			_check_readable(name, spec, params, user)
	return params


def _check_value(name: str, value) -> None:
	if not isinstance(value, str):
		_refuse(frappe._("parameter '{0}' must be text, got {1}").format(name, type(value).__name__))
	if not value or len(value) > MAX_VALUE or not value.isprintable():
		_refuse(
			frappe._("parameter '{0}' must be 1 to {1} printable characters, got {2}").format(
				name, MAX_VALUE, repr(value)[:60]
			)
		)


def _check_readable(name: str, spec: Param, params: dict, user: str) -> None:
	docname = params[name]
	try:
		doctype = spec.doctype(params) if callable(spec.doctype) else spec.doctype
	except frappe.PermissionError as refusal:
		_refuse(f"{name}: {refusal}")
	# The same answer for "missing" and "not theirs": the issuer learns what the user may open.
	readable = (
		frappe.db.exists("DocType", doctype, cache=True)
		and frappe.db.exists(doctype, docname)
		and frappe.has_permission(doctype, "read", doc=docname, user=user)
	)
	if not readable:
		_refuse(
			frappe._("parameter '{0}': {1} cannot read {2} {3}").format(
				name, user, doctype, repr(docname)[:60]
			)
		)


def _refuse(message: str) -> None:
	frappe.throw(message, frappe.ValidationError, title=frappe._("Link not issued"))
