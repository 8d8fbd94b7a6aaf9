"""Webview Settings: validated where an admin edits them, read through one accessor."""

from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from webview_kit import settings
from webview_kit.tests.support import ensure_demo


class TestWebviewSettings(FrappeTestCase):
	def setUp(self):
		ensure_demo()
		self.doc = frappe.get_single(settings.DOCTYPE)
		self.addCleanup(frappe.db.rollback)

	def test_values_outside_their_bounds_are_refused_with_the_field_named(self):
		cases = [
			("history_length", 5, "Events kept per room"),
			("history_length", 1_000_000, "Events kept per room"),
			("history_ttl", 10, "History lifetime"),
			("max_payload", 100, "Largest event"),
			("max_payload", 10_000_000, "Largest event"),
			("link_max_ttl", 5, "Longest link lifetime"),
			("session_lifetime", 60, "Deep-link session lifetime"),
			("redeem_rate_limit", 100_001, "Refused links a minute"),
			("issue_rate_limit", 1_000_001, "Links a minute per issuer"),
			("presence_lease", 1, "Presence lease"),
		]
		for field, value, label in cases:
			with self.subTest(field=field, value=value):
				doc = frappe.get_single(settings.DOCTYPE)
				doc.set(field, value)
				with self.assertRaises(frappe.ValidationError) as refused:
					doc.save()
				self.assertIn(label, str(refused.exception))

	def test_an_empty_bounded_setting_saves_as_its_default(self):
		# Desk sends a cleared Int as null; validate fills the default in before Frappe stores 0.
		self.doc.redeem_rate_limit = None
		self.doc.save()
		self.assertEqual(self.doc.redeem_rate_limit, 30)
		self.assertEqual(settings.get("redeem_rate_limit"), 30)

	def test_a_field_the_site_never_saved_saves_as_its_default(self):
		# A site that saved these settings before a field existed has no row for it.
		frappe.db.delete("Singles", {"doctype": settings.DOCTYPE, "field": "presence_lease"})
		settings.forget_read()
		self.assertEqual(settings.get("presence_lease"), 45)
		doc = frappe.get_single(settings.DOCTYPE)
		doc.save()
		self.assertEqual(doc.presence_lease, 45)

	def test_zero_turns_a_rate_limit_off(self):
		for name in sorted(settings.OFF_AT_ZERO):
			with self.subTest(setting=name):
				doc = frappe.get_single(settings.DOCTYPE)
				doc.set(name, 0)
				doc.save()
				self.assertEqual(settings.get(name), 0)

	def test_zero_is_refused_where_it_cannot_mean_off(self):
		from webview_kit.webview_kit.doctype.webview_settings.webview_settings import BOUNDS

		for name in sorted(set(BOUNDS) - settings.OFF_AT_ZERO):
			with self.subTest(setting=name):
				doc = frappe.get_single(settings.DOCTYPE)
				doc.set(name, 0)
				with self.assertRaises(frappe.ValidationError) as refused:
					doc.save()
				self.assertIn(f"{doc.meta.get_label(name)} cannot be 0", str(refused.exception))

	def test_no_refused_link_is_rate_limited_when_the_limit_is_off(self):
		from webview_kit import auth

		self.doc.redeem_rate_limit = 0
		self.doc.save()
		frappe.cache.delete_value("webview_kit:refusals:198.51.100.7")
		verdicts = [auth.note_refusal("198.51.100.7", "test") for _ in range(40)]
		self.assertFalse(any(v.limited for v in verdicts))

	def test_an_issuer_is_not_rate_limited_when_the_limit_is_off(self):
		from webview_kit import auth

		frappe.cache.delete_value("webview_kit:issue:limit-off@example.com")
		self.doc.issue_rate_limit = 1
		self.doc.save()
		auth.check_issue_rate("limit-off@example.com")
		with self.assertRaises(frappe.RateLimitExceededError):
			auth.check_issue_rate("limit-off@example.com")
		self.doc.issue_rate_limit = 0
		self.doc.save()
		for _ in range(5):
			auth.check_issue_rate("limit-off@example.com")

	def test_live_doctypes_and_link_roles_must_exist(self):
		for field, value, message in (
			("live_doctypes", "No Such DocType", "no DocType"),
			("live_doctypes", "System Settings", "single or child"),
			("link_roles", "No Such Role", "no role"),
		):
			with self.subTest(field=field, value=value):
				doc = frappe.get_single(settings.DOCTYPE)
				doc.set(field, value)
				with self.assertRaises(frappe.ValidationError) as refused:
					doc.save()
				self.assertIn(message, str(refused.exception))

	def test_a_saved_value_is_what_the_accessor_reads(self):
		self.doc.history_length = 250
		self.doc.save()
		self.assertEqual(settings.get("history_length"), 250)

	def test_defaults_hold_where_nothing_is_stored(self):
		self.assertEqual(settings.get("session_lifetime"), 12 * 3600)

	def test_a_site_config_key_still_overrides_for_now(self):
		with patch.dict(frappe.local.conf, {"webview_history_length": 77}):
			self.assertEqual(settings.get("history_length"), 77)

	def test_live_doctypes_join_the_setting_and_the_apps_hook(self):
		from frappe.tests.utils import patch_hooks

		with patch_hooks({"webview_live_doctypes": ["ToDo"]}):
			self.assertEqual(settings.live_doctypes(), {"ToDo", "Webview Demo Task"})

	def test_only_a_system_manager_may_change_them(self):
		perms = frappe.get_meta(settings.DOCTYPE).permissions
		self.assertEqual({p.role for p in perms if p.write}, {"System Manager"})
