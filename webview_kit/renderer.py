"""The page renderer that redeems `?wvt=<token>` deep links on /webview/* routes."""

import frappe
from frappe.translate import get_language
from frappe.website.page_renderers.base_renderer import BaseRenderer
from werkzeug.wrappers import Response

from webview_kit import auth, page, scope, shell
from webview_kit.infra import metrics

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# The shell loads its own script and stylesheet, inlined or not (shell.py), and nothing else.
PAGE_POLICY = (
	"default-src 'none'; script-src 'self' {script}; style-src 'self' {style}; img-src 'self' data:; font-src 'self'; "
	"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'self'; "
	"frame-ancestors 'none'; object-src 'none'"
)
# The refusal page is one inline stylesheet.
REFUSAL_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"


class WebviewLinkPage(BaseRenderer):
	"""Redeem a deep link: start a scoped session and redirect to the page without the token.

	Also refuse, with the same page, a deep-link session's request for its page with other
	parameters than its link's (`scope.asks_other_params`).
	"""

	def can_render(self):
		if not ("/" + self.path).startswith(scope.ROUTE_PREFIX):
			return False
		return scope.link_token() is not None or scope.asks_other_params()

	def render(self):
		route = "/" + self.path
		if scope.link_token() is None:
			return self.refused(auth.refuse("wrong_params"))
		try:
			claims = auth.redeem(scope.link_token(), route, scope.link_query())
			auth.check_browser_session(claims)
		except auth.LinkError as error:
			return self.refused(error)
		auth.start_session(claims)
		metrics.count("links_redeemed")
		auth.audit(f"Webview link {claims['link_id']} redeemed for {route}", claims["user"], "Success")
		frappe.db.commit()
		query = scope.current().query
		location = route + (f"?{query}" if query else "")
		return Response(status=303, headers={"Location": location, **NO_STORE})

	def refused(self, error: auth.LinkError) -> Response:
		"""The refusal page; 429 instead once this address has been refused too often."""
		verdict = auth.note_refusal(frappe.local.request_ip, error.reason)
		metrics.count_refused(auth.RATE_LIMITED if verdict.limited else error.reason)
		frappe.db.commit()
		# A refused link must not leave any session behind, not even a Guest one.
		frappe.local.cookie_manager.cookies.clear()
		if verdict.limited:
			title, status, hint = auth.RATE_LIMITED_PAGE
			reason, headers = auth.RATE_LIMITED, {"Retry-After": str(verdict.retry_after)}
		else:
			title, status, hint = auth.REFUSALS[error.reason]
			reason, headers = error.reason, {}
		# Frappe chose the request's language before it knew the session was a Guest's; ask
		# again now: a Guest's language is the browser's (Accept-Language), as Frappe does it.
		lang = frappe.local.lang = get_language()
		html = frappe.render_template(
			"templates/webview/link_error.html",
			{"title": title, "hint": hint, "reason": reason, "lang": lang, "dir": page.direction(lang)},
		)
		headers = {**NO_STORE, "Content-Security-Policy": REFUSAL_POLICY, **headers}
		return Response(html, status=status, headers=headers, content_type="text/html; charset=utf-8")


def secure_headers(response, request) -> None:
	"""`after_request`: a webview page holds its user's data; no cache keeps it, no injected script runs."""
	if response is None or not request.path.startswith(scope.ROUTE_PREFIX):
		return
	response.headers["Cache-Control"] = "no-store"
	response.headers.setdefault("Referrer-Policy", "no-referrer")
	response.headers.setdefault("X-Content-Type-Options", "nosniff")
	# The refusal page brings its own policy.
	if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
		script, style = shell.policy_sources()
		policy = PAGE_POLICY.format(host=request.host, script=script, style=style)
		response.headers["Content-Security-Policy"] = policy
