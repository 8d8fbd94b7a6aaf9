"""Pages speak the user's language: Frappe's _() on the server, __() with the page's messages, and dir."""

import json
import re
from pathlib import Path

import frappe

from webview_kit import page
from webview_kit.tests.test_requests import READER, RequestTestCase

SCRIPTS = Path(page.__file__).with_name("public") / "js" / "webview"


def config_of(html: str) -> dict:
	found = re.search(r'<script type="application/json" id="wvk-config">(.*?)</script>', html, re.S)
	return json.loads(found.group(1))


class TestPageMessages(RequestTestCase):
	def set_language(self, lang: str) -> None:
		frappe.db.set_value("User", READER, "language", lang)
		frappe.db.commit()
		self.addCleanup(lambda: (frappe.db.set_value("User", READER, "language", None), frappe.db.commit()))
		frappe.clear_cache(user=READER)

	def test_every_string_the_scripts_translate_is_sent_to_the_page(self):
		used = set()
		for script in SCRIPTS.glob("*.js"):
			used |= set(re.findall(r'__\("((?:[^"\\]|\\.)*)"', script.read_text()))
		self.assertTrue(used)
		self.assertEqual(used - set(page.MESSAGES), set())

	def test_a_german_user_gets_the_page_in_german(self):
		self.set_language("de")
		self.sign_in_by_link()
		html = self.get("/webview/count").get_data(as_text=True)
		self.assertIn('<html lang="de" dir="ltr">', html)
		self.assertIn("Zähler", html)
		messages = config_of(html)["messages"]
		self.assertEqual(
			messages["You are offline. Updates resume when you are back."][:17], "Sie sind offline."
		)
		self.assertEqual(messages["Sending…"], "Wird gesendet…")

	def test_an_english_page_carries_no_messages(self):
		self.sign_in_by_link()
		html = self.get("/webview/count").get_data(as_text=True)
		self.assertIn('<html lang="en" dir="ltr">', html)
		self.assertEqual(config_of(html)["messages"], {})

	def test_an_arabic_user_gets_the_page_right_to_left(self):
		self.set_language("ar")
		self.sign_in_by_link()
		html = self.get("/webview/count").get_data(as_text=True)
		self.assertIn('<html lang="ar" dir="rtl">', html)
		self.assertIn("العدّاد", html)

	def test_a_refused_link_is_explained_in_the_browsers_language(self):
		response = self.open_link("wvk_nope", headers={"Accept-Language": "ar"})
		html = response.get_data(as_text=True)
		self.assertEqual(response.status_code, 401)
		self.assertIn('dir="rtl"', html)
		self.assertIn("هذا الرابط غير صالح", html)

	def test_languages_written_right_to_left(self):
		for lang, expected in (
			("ar", "rtl"),
			("he", "rtl"),
			("fa", "rtl"),
			("ur", "rtl"),
			("de", "ltr"),
			("en-US", "ltr"),
		):
			with self.subTest(lang=lang):
				self.assertEqual(page.direction(lang), expected)
