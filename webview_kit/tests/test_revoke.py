"""Revocation that outlives the cache Redis: a revoke mark an eviction cannot take away."""

import time

import frappe

from webview_kit import auth
from webview_kit.tests.test_auth import READER, ROUTE, AuthTestCase


class TestDurableRevokeMark(AuthTestCase):
	def evict_all_but(self, key: str) -> None:
		"""Empty the cache Redis, as a full LRU cache may, but keep `key` (the link, which it may keep)."""
		value, ttl = frappe.cache.get(key), frappe.cache.ttl(key)
		frappe.cache.flushdb()
		frappe.cache.set(key, value, ex=ttl)

	def test_a_link_issued_before_a_revoke_stays_refused_after_the_cache_redis_loses_everything(self):
		token = self.issue()
		auth.revoke(READER)

		self.evict_all_but(auth._claims_key(auth.token_hash(token)))

		self.assertEqual(self.refusal(token).reason, "revoked")

	def test_a_link_issued_after_the_revoke_still_opens(self):
		auth.revoke(READER)
		time.sleep(0.01)  # iat must be later than the mark, whose clock is the same time.time()
		self.assertEqual(auth.redeem(self.issue(), ROUTE)["user"], READER)

	def test_old_marks_are_pruned_and_fresh_ones_kept(self):
		auth.revoke(READER)
		stale = "wvk-long-ago@example.com"
		auth._mark_revoked(stale, time.time())
		long_ago = frappe.utils.add_to_date(None, seconds=-(auth.max_ttl() + auth.USED_MARK_TTL + 60))
		frappe.db.set_value(
			"DefaultValue", {"parent": auth.REVOKED_PARENT, "defkey": stale}, "creation", long_ago
		)

		auth.prune_revoke_marks()

		self.assertEqual(auth._revoked_at(stale), 0)
		self.assertGreater(auth._revoked_at(READER), 0)
