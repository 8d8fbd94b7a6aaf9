"""A deep link opens one route with the parameters it was issued with, and nothing else.

Issued through the whitelisted API and opened through Frappe's whole WSGI app, as a mobile
backend and a phone would: the parameters are signed into the link at issue, checked there
against what the page declares and what its user may read, and every request of the session
it opens must ask for its page with exactly them.
"""

import json
from urllib.parse import quote, urlsplit

import frappe
from frappe.share import add_docshare
from webview_kit_demo import orders
from webview_kit_demo.setup import DEMO_DOCTYPE
from webview_kit_demo.users import new_api_key

from webview_kit import auth, scope
from webview_kit.tests.support import ensure_demo, ensure_user, request, wsgi_client
from webview_kit.tests.test_attacks import message, page_config
from webview_kit.tests.test_requests import READER, RequestTestCase, set_cookies

ORDER_PAGE = "/webview/order"
DOCUMENT_PAGE = "/webview/document"
ISSUER = "wvk-params-issuer@example.com"


class ParamsTestCase(RequestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()
		ensure_user(ISSUER, roles=("Webview Issuer",))
		cls.issuer_key = new_api_key(ISSUER)
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		self.order_a = orders.create("Order A", share_with=READER)
		self.order_b = orders.create("Order B", share_with=READER)
		self.not_shared = orders.create("Someone else's")
		self.task = self.new_task(shared_with=READER)
		self.other_task = self.new_task()
		frappe.db.commit()
		for name in (self.order_a, self.order_b, self.not_shared):
			self.addCleanup(frappe.delete_doc, orders.ORDER, name, ignore_permissions=True, force=True)

	def new_task(self, shared_with: str | None = None) -> str:
		doc = frappe.get_doc({"doctype": DEMO_DOCTYPE, "title": "Params target"}).insert(
			ignore_permissions=True
		)
		if shared_with:
			add_docshare(DEMO_DOCTYPE, doc.name, shared_with, flags={"ignore_share_permission": True})
		self.addCleanup(frappe.delete_doc, DEMO_DOCTYPE, doc.name, ignore_permissions=True, force=True)
		return doc.name

	def issue_api(self, route: str, page_params=None, **data):
		"""POST issue_link as a mobile backend does (form-encoded, `params` as JSON text)."""
		if page_params is not None:
			data["params"] = page_params if isinstance(page_params, str) else json.dumps(page_params)
		# A client of its own: the backend's cookies are not the phone's.
		return request(
			wsgi_client(),
			"/api/method/webview_kit.api.issue_link",
			method="POST",
			data={"user": READER, "route": route, **data},
			headers={"Authorization": f"token {self.issuer_key}", "Accept": "application/json"},
		)

	def link_for(self, route: str, **page_params) -> str:
		"""The path and query of a fresh link for READER, as the API hands it out."""
		response = self.issue_api(route, page_params)
		self.assertEqual(response.status_code, 200, msg=response.text[:300])
		url = urlsplit(response.json["message"]["url"])
		return f"{url.path}?{url.query}"

	def refused_page(self, response, reason: str = "wrong_params") -> None:
		self.assertEqual(response.status_code, 403, msg=response.text[:300])
		self.assertIn(f'data-link-error="{reason}"', response.text)
		self.assertNotIn("Traceback", response.text)


class TestIssuing(ParamsTestCase):
	def test_the_link_carries_its_parameters_in_their_one_encoding(self):
		link = self.link_for(DOCUMENT_PAGE, name=self.task, doctype=DEMO_DOCTYPE)
		path, query = link.split("?")
		self.assertEqual(path, DOCUMENT_PAGE)
		expected = f"doctype={quote(DEMO_DOCTYPE, safe='')}&name={quote(self.task, safe='')}"
		self.assertEqual(query.rsplit(f"&{scope.TOKEN_PARAM}=", 1)[0], expected)

	def test_pages_declare_what_they_take(self):
		from webview_kit import params

		self.assertEqual(params.declared("/webview/count"), {})
		self.assertEqual(params.declared(ORDER_PAGE), {"name": params.Param(doctype=orders.ORDER)})
		self.assertEqual(set(params.declared(DOCUMENT_PAGE)), {"doctype", "name"})
		self.assertFalse(params.declared(DOCUMENT_PAGE)["doctype"].required)

	def test_bad_parameters_are_refused_at_issue_with_the_parameter_named(self):
		cases = [
			("a page that takes none", "/webview/count", {"name": "x"}, "takes no parameters, got 'name'"),
			("missing", ORDER_PAGE, {}, "needs the parameter 'name'"),
			("no params at all", ORDER_PAGE, None, "needs the parameter 'name'"),
			("unknown", ORDER_PAGE, {"name": self.order_a, "tab": "2"}, "takes no parameter 'tab'"),
			("a number", ORDER_PAGE, {"name": 7}, "parameter 'name' must be text"),
			("a list", ORDER_PAGE, {"name": [self.order_a]}, "parameter 'name' must be text"),
			("empty", ORDER_PAGE, {"name": ""}, "parameter 'name' must be 1 to 140 printable"),
			("too long", ORDER_PAGE, {"name": "W" * 141}, "parameter 'name' must be 1 to 140 printable"),
			("a newline", ORDER_PAGE, {"name": f"{self.order_a}\nX"}, "must be 1 to 140 printable"),
			("a NUL", ORDER_PAGE, {"name": f"{self.order_a}\x00"}, "must be 1 to 140 printable"),
			("an escape", ORDER_PAGE, {"name": "\x1b[31m"}, "must be 1 to 140 printable"),
			("unreadable order", ORDER_PAGE, {"name": self.not_shared}, f"{READER} cannot read"),
			("missing order", ORDER_PAGE, {"name": "WDO-NOPE-1"}, f"{READER} cannot read"),
			("unreadable task", DOCUMENT_PAGE, {"name": self.other_task}, f"{READER} cannot read"),
			(
				"not a live DocType",
				DOCUMENT_PAGE,
				{"doctype": "User", "name": "Administrator"},
				"User is not a live DocType",
			),
			(
				"unreadable on the workflow page",
				"/webview/workflow",
				{"doctype": DEMO_DOCTYPE, "name": self.other_task},
				f"{READER} cannot read",
			),
		]
		for label, route, page_params, error in cases:
			with self.subTest(label):
				response = self.issue_api(route, page_params)
				self.assertEqual(response.status_code, 417, msg=response.text[:300])
				self.assertIn(error, message(response))
				self.assertNotIn("Traceback", response.text)

	def test_params_that_are_not_an_object_of_text_are_refused(self):
		for sent in ("[1, 2]", '"SO-1"', "{not json", "null"):
			with self.subTest(sent):
				response = self.issue_api(ORDER_PAGE, sent)
				self.assertEqual(response.status_code, 417, msg=response.text[:300])
				self.assertIn("params must be an object of text values", message(response))

	def test_a_form_encoded_params_object_issues_the_link(self):
		response = self.issue_api(ORDER_PAGE, {"name": self.order_a})
		self.assertEqual(response.status_code, 200, msg=response.text[:300])
		url = urlsplit(response.json["message"]["url"])
		self.assertEqual((url.path, url.query.split("&")[0]), (ORDER_PAGE, f"name={self.order_a}"))


class TestOpening(ParamsTestCase):
	def test_the_signed_link_opens_exactly_its_document(self):
		opened = self.get(self.link_for(ORDER_PAGE, name=self.order_a))
		self.assertEqual(opened.status_code, 303, msg=opened.text[:300])
		self.assertEqual(opened.headers["Location"], f"{ORDER_PAGE}?name={self.order_a}")
		page = self.get(opened.headers["Location"])
		self.assertEqual(page.status_code, 200, msg=page.text[:300])
		self.assertEqual(list(page_config(page.text)["rooms"]), [f"doc:{orders.ORDER}/{self.order_a}"])
		self.assertIn(f"Order {self.order_a}", page.text)
		self.assertEqual(self.get(opened.headers["Location"]).status_code, 200, msg="a reload")

	def test_a_link_for_order_a_opened_with_order_b_is_refused_and_still_opens_a(self):
		link = self.link_for(ORDER_PAGE, name=self.order_a)
		for tampered in (
			link.replace(f"name={self.order_a}", f"name={self.order_b}"),
			f"{link}&name={self.order_b}",
		):
			with self.subTest(tampered):
				refused = self.get(tampered)
				self.refused_page(refused)
				self.assertNotIn("sid", set_cookies(refused), msg="no session is started")
		opened = self.get(link)
		self.assertEqual(opened.status_code, 303, msg="the link as issued was not used up")
		page = self.get(opened.headers["Location"])
		self.assertEqual(page.status_code, 200)
		self.assertIn(f"Order {self.order_a}", page.text)
		self.assertNotIn(self.order_b, page.text)

	def test_a_link_opened_with_other_parameters_is_refused(self):
		a = self.order_a
		token_of = lambda link: link.split(f"{scope.TOKEN_PARAM}=")[1]  # noqa: E731
		doc = DEMO_DOCTYPE.replace(" ", "%20")
		cases = [
			("another order", ORDER_PAGE, {"name": a}, lambda t: f"name={self.order_b}&wvt={t}"),
			("missing", ORDER_PAGE, {"name": a}, lambda t: f"wvt={t}"),
			("duplicated", ORDER_PAGE, {"name": a}, lambda t: f"name={a}&name={self.order_b}&wvt={t}"),
			("duplicated, same value", ORDER_PAGE, {"name": a}, lambda t: f"name={a}&name={a}&wvt={t}"),
			("extra", ORDER_PAGE, {"name": a}, lambda t: f"name={a}&tab=2&wvt={t}"),
			("percent-encoded", ORDER_PAGE, {"name": a}, lambda t: f"name=%{ord(a[0]):02X}{a[1:]}&wvt={t}"),
			("trailing &", ORDER_PAGE, {"name": a}, lambda t: f"name={a}&wvt={t}&"),
			("an empty pair", ORDER_PAGE, {"name": a}, lambda t: f"name={a}&&wvt={t}"),
			(
				"reordered",
				DOCUMENT_PAGE,
				{"doctype": DEMO_DOCTYPE, "name": self.task},
				lambda t: f"name={self.task}&doctype={doc}&wvt={t}",
			),
			(
				"spaces as +",
				DOCUMENT_PAGE,
				{"doctype": DEMO_DOCTYPE, "name": self.task},
				lambda t: f"doctype={DEMO_DOCTYPE.replace(' ', '+')}&name={self.task}&wvt={t}",
			),
			("on a page that takes none", "/webview/count", {}, lambda t: f"name={a}&wvt={t}"),
		]
		for label, route, page_params, query in cases:
			with self.subTest(label):
				token = token_of(self.link_for(route, **page_params))
				self.refused_page(self.get(f"{route}?{query(token)}"))


class TestTheSession(ParamsTestCase):
	def open(self, route: str, **page_params) -> str:
		"""Redeem a link for `route` and render its page once; return the page's CSRF token."""
		opened = self.get(self.link_for(route, **page_params))
		self.assertEqual(opened.status_code, 303, msg=opened.text[:300])
		page = self.get(opened.headers["Location"])
		self.assertEqual(page.status_code, 200, msg=page.text[:300])
		return page_config(page.text)["csrf_token"]

	def test_the_page_with_other_parameters_is_refused_and_the_link_s_own_still_renders(self):
		csrf = self.open(ORDER_PAGE, name=self.order_a)
		a, b = self.order_a, self.order_b
		csrf_header = {"X-Frappe-CSRF-Token": csrf}
		json_header = {"Content-Type": "application/json"}
		cases = [
			("another order", lambda: self.get(f"{ORDER_PAGE}?name={b}")),
			("missing", lambda: self.get(ORDER_PAGE)),
			("duplicated", lambda: self.get(f"{ORDER_PAGE}?name={a}&name={b}")),
			("extra", lambda: self.get(f"{ORDER_PAGE}?name={a}&tab=2")),
			("extra first", lambda: self.get(f"{ORDER_PAGE}?tab=2&name={a}")),
			("percent-encoded", lambda: self.get(f"{ORDER_PAGE}?name=%{ord(a[0]):02X}{a[1:]}")),
			("trailing &", lambda: self.get(f"{ORDER_PAGE}?name={a}&")),
			(
				"a JSON body",
				lambda: self.get(f"{ORDER_PAGE}?name={a}", data=json.dumps({"name": b}), headers=json_header),
			),
			(
				"a JSON body in a POST",
				lambda: self.get(
					ORDER_PAGE,
					method="POST",
					data=json.dumps({"name": b}),
					headers={**json_header, **csrf_header},
				),
			),
			(
				"a form body in a POST",
				lambda: self.get(ORDER_PAGE, method="POST", data={"name": a}, headers=csrf_header),
			),
			(
				"the same query in a POST",
				lambda: self.get(
					f"{ORDER_PAGE}?name={a}", method="POST", data={"name": b}, headers=csrf_header
				),
			),
		]
		for label, send in cases:
			with self.subTest(label):
				response = send()
				self.refused_page(response)
				self.assertNotIn(f"Order {b}", response.text)
		page = self.get(f"{ORDER_PAGE}?name={a}")
		self.assertEqual(page.status_code, 200, msg="a reload of the exact URL keeps working")
		self.assertIn(f"Order {a}", page.text)

	def test_the_first_render_is_held_to_the_link_s_parameters_too(self):
		opened = self.get(self.link_for(ORDER_PAGE, name=self.order_a))
		self.assertEqual(opened.status_code, 303)
		self.refused_page(self.get(f"{ORDER_PAGE}?name={self.order_b}"))
		self.assertEqual(self.get(opened.headers["Location"]).status_code, 200)

	def test_a_document_page_reads_the_signed_document_whatever_the_body_says(self):
		self.open(DOCUMENT_PAGE, name=self.task)
		page = self.get(
			f"{DOCUMENT_PAGE}?name={self.task}",
			data=json.dumps({"name": self.other_task}),
			headers={"Content-Type": "application/json"},
		)
		self.refused_page(page)
		self.assertNotIn(self.other_task, page.text)

	def test_a_link_issued_before_parameters_still_opens_a_page_that_takes_none(self):
		url = urlsplit(auth.issue_link(READER, "/webview/count")["url"])
		token = url.query.split("=", 1)[1]
		key = auth._claims_key(auth.token_hash(token))
		claims = json.loads(frappe.cache.get(key))
		claims.pop("params", None)
		frappe.cache.set(key, json.dumps(claims), ex=600)
		self.refused_page(self.get(f"/webview/count?{url.query}&name=x"))
		opened = self.get(f"/webview/count?{url.query}")
		self.assertEqual(opened.status_code, 303, msg=opened.text[:300])
		self.assertEqual(opened.headers["Location"], "/webview/count")
		self.assertEqual(self.get("/webview/count").status_code, 200)
		self.refused_page(self.get("/webview/count?name=x"))
