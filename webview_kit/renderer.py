"""The page renderer that redeems `?wvt=<token>` deep links on /webview/* routes."""

from urllib.parse import urlencode

import frappe
from frappe.rate_limiter import rate_limit
from frappe.website.page_renderers.base_renderer import BaseRenderer
from werkzeug.wrappers import Response

from webview_kit import auth, metrics

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def redeem_limit() -> int:
	return int(frappe.conf.get("webview_redeem_rate_limit") or 30)


REDEEM_WINDOW = 60


class WebviewLinkPage(BaseRenderer):
	"""Redeem a deep link: start a scoped session and redirect to the page without the token."""

	def can_render(self):
		return ("/" + self.path).startswith(auth.ROUTE_PREFIX) and auth.TOKEN_PARAM in frappe.form_dict

	def render(self):
		route = "/" + self.path
		token = frappe.form_dict.get(auth.TOKEN_PARAM)
		try:
			claims = rate_limited_redeem(token, route)
		except frappe.RateLimitExceededError:
			return self.refusal(
				"rate_limited", 429, "Too many attempts", None, {"Retry-After": str(REDEEM_WINDOW)}
			)
		except auth.LinkError as error:
			return self.refusal(error.reason, error.status, error.message, None)
		auth.start_session(claims)
		metrics.count("links_redeemed")
		auth.audit(f"Webview link {claims['link_id']} redeemed for {route}", claims["user"], "Success")
		frappe.db.commit()
		query = {k: v for k, v in frappe.request.args.items() if k != auth.TOKEN_PARAM}
		location = route + (f"?{urlencode(query)}" if query else "")
		return Response(status=303, headers={"Location": location, **NO_STORE})

	def refusal(self, reason: str, status: int, title: str, user, headers=None):
		auth.audit(f"Webview link refused: {reason}", user, "Failed")
		metrics.count_refused(reason)
		frappe.db.commit()
		# A refused link must not leave any session behind, not even a Guest one.
		frappe.local.cookie_manager.cookies.clear()
		hint = auth.REFUSALS.get(reason, ("", 0, "Wait a minute, then ask the app for a new link."))[2]
		html = frappe.render_template(
			"templates/webview/link_error.html", {"title": title, "hint": hint, "reason": reason}
		)
		return Response(
			html,
			status=status,
			headers={**NO_STORE, **(headers or {})},
			content_type="text/html; charset=utf-8",
		)


@rate_limit(limit=redeem_limit, seconds=REDEEM_WINDOW)
def rate_limited_redeem(token: str, route: str) -> dict:
	return auth.redeem(token, route)
