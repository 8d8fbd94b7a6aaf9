"""Operations endpoints: metrics for a Prometheus scraper, health for load balancers."""

import json

import frappe
from werkzeug.wrappers import Response

from webview_kit import auth, presence
from webview_kit.infra import health as health_checks
from webview_kit.infra import metrics as site_metrics

NO_STORE = {"Cache-Control": "no-store"}


@frappe.whitelist(allow_guest=True, methods=["GET"])
def metrics() -> Response:
	"""This site's webview metrics in the Prometheus text format (System Manager or the metrics token)."""
	token = frappe.get_request_header(site_metrics.TOKEN_HEADER)
	if not (site_metrics.scraper_allowed(token) or "System Manager" in frappe.get_roles()):
		raise frappe.PermissionError(
			f"Metrics need the System Manager role or the {site_metrics.TOKEN_HEADER} header"
		)
	text = site_metrics.render([*auth.REFUSALS, auth.RATE_LIMITED], presence.live_count())
	return Response(text, content_type=site_metrics.CONTENT_TYPE, headers=NO_STORE)


@frappe.whitelist(allow_guest=True, methods=["GET"])
def health() -> Response:
	"""200 if MariaDB, both Redis instances and a socket server answer, else 503; with each check."""
	report = health_checks.report()
	return Response(
		json.dumps(report),
		status=200 if report["ok"] else 503,
		content_type="application/json",
		headers=NO_STORE,
	)
