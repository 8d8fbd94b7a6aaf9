"""Presence leases: joining, renewing, leaving, expiry, versions, and the live count."""

import time
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from webview_kit import presence
from webview_kit.publish import room_head
from webview_kit.tests.support import clear_room, ensure_user, fresh_doc_room

ANA = "wvk-presence-ana@example.com"
BEN = "wvk-presence-ben@example.com"


class PresenceTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(ANA)
		ensure_user(BEN)

	def room(self) -> str:
		room = fresh_doc_room()
		self.addCleanup(clear_room, room)
		self.addCleanup(frappe.cache.delete, *presence._room_keys(room))
		return room

	def client(self) -> str:
		client = frappe.generate_hash(length=16)
		for user in (ANA, BEN):
			self.addCleanup(presence.leave, client, user)
		return client

	def users(self, state: dict) -> list[str]:
		return [viewer["user"] for viewer in state["viewers"]]

	def published(self, room: str) -> dict | None:
		latest = room_head(room)["latest"].get(presence.EVENT_PRESENCE)
		return latest and latest["data"]


class TestViewers(PresenceTestCase):
	def test_joining_lists_the_viewer_and_publishes_the_list(self):
		room = self.room()
		state = presence.join(self.client(), ANA, room)
		self.assertEqual(self.users(state), [ANA])
		self.assertEqual(self.published(room), state)

	def test_a_user_on_two_pages_is_listed_once_with_both(self):
		room = self.room()
		presence.join(self.client(), ANA, room)
		state = presence.join(self.client(), ANA, room)
		self.assertEqual(state["viewers"], [{"user": ANA, "name": "Webview Test", "clients": 2}])

	def test_renewing_publishes_nothing_new(self):
		room, client = self.room(), self.client()
		presence.join(client, ANA, room)
		seq = room_head(room)["seq"]
		presence.join(client, ANA, room)
		self.assertEqual(room_head(room)["seq"], seq)

	def test_leaving_removes_the_viewer_and_publishes_the_list(self):
		room, ana, ben = self.room(), self.client(), self.client()
		presence.join(ana, ANA, room)
		presence.join(ben, BEN, room)
		state = presence.leave(ben, BEN, room)
		self.assertEqual(self.users(state), [ANA])
		self.assertEqual(self.users(self.published(room)), [ANA])

	def test_leaving_twice_publishes_once(self):
		room, client = self.room(), self.client()
		presence.join(client, ANA, room)
		presence.leave(client, ANA, room)
		seq = room_head(room)["seq"]
		presence.leave(client, ANA, room)
		self.assertEqual(room_head(room)["seq"], seq)

	def test_a_lapsed_lease_is_dropped_by_the_next_renewal_in_the_room(self):
		room, ana, ben = self.room(), self.client(), self.client()
		presence.join(ana, ANA, room)
		presence.join(ben, BEN, room)
		members, _version = presence._room_keys(room)
		frappe.cache.zadd(members, {presence._member(BEN, ben): time.time() - 1})  # Ben's phone went quiet
		state = presence.join(ana, ANA, room)
		self.assertEqual(self.users(state), [ANA])
		self.assertEqual(self.users(self.published(room)), [ANA])

	def test_every_membership_write_gets_a_higher_version(self):
		room, ana, ben = self.room(), self.client(), self.client()
		versions = [
			presence.join(ana, ANA, room)["version"],
			presence.join(ben, BEN, room)["version"],
			presence.join(ana, ANA, room)["version"],
			presence.leave(ben, BEN, room)["version"],
		]
		self.assertEqual(versions, sorted(set(versions)))
		self.assertEqual(presence.viewers(room)["version"], versions[-1])

	def test_the_lease_comes_from_site_config(self):
		with patch.dict(frappe.local.conf, {"webview_presence_lease": 12}):
			self.assertEqual(presence.join(self.client(), ANA, self.room())["lease"], 12)

	def test_malformed_client_ids_are_refused(self):
		for client in ("", "short", "has space in it", "x" * 65, "tab\there-tab", None):
			with self.subTest(client=client), self.assertRaises(frappe.ValidationError):
				presence.join(client, ANA, self.room())


class TestLiveCount(PresenceTestCase):
	def setUp(self):
		# A count of this test's own, untouched by pages open on the site meanwhile.
		key = frappe.cache.make_key(f"webview_kit:presence:test-clients:{frappe.generate_hash(length=8)}")
		patcher = patch.object(presence, "_clients_key", return_value=key)
		patcher.start()
		self.addCleanup(patcher.stop)
		self.addCleanup(frappe.cache.delete, key)

	def test_counts_pages_with_and_without_a_room(self):
		presence.join(self.client(), ANA, self.room())
		presence.join(self.client(), ANA)
		presence.join(self.client(), BEN)
		self.assertEqual(presence.live_count(), 3)

	def test_a_renewal_is_not_another_page(self):
		client = self.client()
		presence.join(client, ANA)
		presence.join(client, ANA)
		self.assertEqual(presence.live_count(), 1)

	def test_leaving_ends_only_your_own_lease(self):
		client = self.client()
		presence.join(client, ANA)
		presence.leave(client, BEN)
		self.assertEqual(presence.live_count(), 1)

	def test_a_page_that_left_or_lapsed_is_not_counted(self):
		left, lapsed, staying = self.client(), self.client(), self.client()
		for client in (left, lapsed, staying):
			presence.join(client, ANA)
		presence.leave(left, ANA)
		frappe.cache.zadd(presence._clients_key(), {presence._member(ANA, lapsed): time.time() - 1})
		self.assertEqual(presence.live_count(), 1)
