"""Who may ask for a link, and what a link may not do to a browser already signed in.

A user without the right to issue learns nothing about which accounts exist; nobody
self-issues links unless *Webview Settings* allow it; and a link opened in a browser that
holds someone else's desk session is refused without touching that session (login CSRF).
"""

import frappe
from webview_kit_demo.users import new_api_key

from webview_kit import settings
from webview_kit.tests.support import ensure_user, sessions_of, sign_in
from webview_kit.tests.test_attacks import message
from webview_kit.tests.test_requests import OTHER, READER, ROUTE, RequestTestCase

DESK = "wvk-policy-desk@example.com"
DISABLED = "wvk-policy-disabled@example.com"


def allow_self_issue(value: int) -> None:
	frappe.db.set_single_value(settings.DOCTYPE, "allow_self_issue", value)
	frappe.db.commit()
	settings.forget_read()


class PolicyTestCase(RequestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(DESK, roles=("System Manager",))
		ensure_user(DISABLED, enabled=False)

	def setUp(self):
		super().setUp()
		allow_self_issue(0)
		self.addCleanup(allow_self_issue, 0)

	def issue_as(self, caller: str, **data):
		headers = {"Authorization": f"token {new_api_key(caller)}"}
		path = "/api/method/webview_kit.api.issue_link"
		return self.get(path, method="POST", data={"route": ROUTE, **data}, headers=headers)


class TestEnumeration(PolicyTestCase):
	def test_a_user_who_may_not_issue_gets_one_refusal_for_any_account_existing_or_not(self):
		answers = {
			user: self.issue_as(READER, user=user)
			for user in (OTHER, DISABLED, "no-such-user-wvk@example.com", "Administrator")
		}
		for user, response in answers.items():
			with self.subTest(user=user):
				self.assertEqual(response.status_code, 403, msg=response.get_data(as_text=True)[:300])
		texts = {message(response).replace(user, "<user>") for user, response in answers.items()}
		self.assertEqual(len(texts), 1, texts)
		self.assertNotIn("exist", texts.pop())

	def test_an_issuer_still_learns_that_an_account_does_not_exist(self):
		response = self.issue_as(DESK, user="no-such-user-wvk@example.com")
		self.assertEqual(response.status_code, 417)
		self.assertIn("does not exist or is disabled", message(response))


class TestSelfIssue(PolicyTestCase):
	def test_a_user_may_not_issue_a_link_for_themself_by_default(self):
		response = self.issue_as(READER, user=READER)
		self.assertEqual(response.status_code, 403, msg=response.get_data(as_text=True)[:300])

	def test_webview_settings_may_allow_self_issue(self):
		allow_self_issue(1)
		response = self.issue_as(READER, user=READER)
		self.assertEqual(response.status_code, 200, msg=response.get_data(as_text=True)[:300])
		self.assertEqual(self.issue_as(READER, user=OTHER).status_code, 403, "for others, still not")

	def test_the_setting_is_off_on_a_new_site(self):
		meta = frappe.get_meta(settings.DOCTYPE)
		self.assertEqual(meta.get_field("allow_self_issue").default, "0")
		self.assertFalse(settings.get("allow_self_issue"), "a site that never saved the settings")


class TestLoginCsrf(PolicyTestCase):
	"""Someone's link, opened in a victim's browser, must not swap the victim's desk session for it."""

	def desk_browser(self, user: str = DESK) -> str:
		sid = sign_in(user=user)
		self.client.set_cookie("sid", sid)
		return sid

	def test_a_link_for_another_user_is_refused_in_a_browser_signed_in_to_the_desk(self):
		desk_sid = self.desk_browser()
		before = sessions_of(READER)
		response = self.open_link(self.issue(READER))  # the attacker's own link, say
		self.assertEqual(response.status_code, 409, msg=response.get_data(as_text=True)[:300])
		self.assertIn("signed in as someone else", response.get_data(as_text=True))
		self.assertEqual(self.client.get_cookie("sid").value, desk_sid, "the browser keeps its session")
		self.assertEqual(self.logged_user(), DESK)
		self.assertEqual(sessions_of(READER), before, "no session was started for the link's user")
		self.assertIn(desk_sid, sessions_of(DESK))

	def test_a_link_for_the_desk_user_themself_still_signs_in(self):
		self.desk_browser(READER)
		self.assertEqual(self.open_link(self.issue(READER)).status_code, 303)
		self.assertEqual(self.logged_user(), READER)

	def test_a_webview_session_of_another_user_is_replaced_as_before(self):
		"""A phone's WebView switching accounts: the kit's own scoped session is not a desk session."""
		self.sign_in_by_link()  # READER's webview session
		self.assertEqual(self.open_link(self.issue(OTHER)).status_code, 303)
		self.assertEqual(self.logged_user(), OTHER)

	def test_a_browser_without_a_session_signs_in(self):
		self.assertEqual(self.open_link(self.issue(READER)).status_code, 303)
