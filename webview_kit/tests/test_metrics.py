"""Metrics: each counter moves when its event happens; the metrics and health endpoints."""

import json
import random
from contextlib import contextmanager
from unittest.mock import patch

import frappe
from frappe.installer import update_site_config
from frappe.tests.utils import FrappeTestCase
from frappe.utils.redis_wrapper import RedisWrapper
from prometheus_client.parser import text_string_to_metric_families

from webview_kit import api, auth, presence, publish, scope
from webview_kit.infra import health, metrics
from webview_kit.publish import Event, PublishError, publish_many, user_room
from webview_kit.tests.support import (
	clear_room,
	ensure_user,
	fresh_doc_room,
	queue_redis_at,
	request,
	unused_port,
	wsgi_client,
)

ROUTE = "/webview/count"
READER = "wvk-metrics-reader@example.com"
MANAGER = "wvk-metrics-manager@example.com"
EVENT = "webview_kit.test"
METRICS_URL = "/api/method/webview_kit.ops_api.metrics"
HEALTH_URL = "/api/method/webview_kit.ops_api.health"


def token_of(link: dict) -> str:
	return link["url"].split(f"{scope.TOKEN_PARAM}=", 1)[1]


class MetricsTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(READER)
		ensure_user(MANAGER, roles=("System Manager",))

	def setUp(self):
		frappe.set_user("Administrator")
		self.addCleanup(frappe.set_user, "Administrator")

	@contextmanager
	def moves(self, expected: dict[str, int]):
		"""Assert that the block moves exactly the `expected` counters by exactly that much."""
		before = metrics.counts()
		yield
		after = metrics.counts()
		moved = {k: after.get(k, 0) - before.get(k, 0) for k in after.keys() | before.keys()}
		self.assertEqual({k: v for k, v in moved.items() if v}, expected)

	def room(self) -> str:
		room = fresh_doc_room()
		self.addCleanup(clear_room, room)
		return room

	def site_config(self, key: str, value):
		"""Set `key` in site_config.json, where requests of other contexts read it, for the test."""
		update_site_config(key, value)
		self.addCleanup(frappe.local.conf.pop, key, None)
		self.addCleanup(update_site_config, key, "None")


class TestLinkCounters(MetricsTestCase):
	def issue(self, user: str = READER) -> str:
		return token_of(auth.issue_link(user, ROUTE))

	def setUp(self):
		super().setUp()
		# An address of the test's own, so that other tests' redeems leave its rate limit alone
		self.ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

	def redeem(self, token: str, route: str = ROUTE):
		path = f"{route}?{scope.TOKEN_PARAM}={token}"
		return request(wsgi_client(), path, headers={"X-Forwarded-For": self.ip})

	def test_issuing_a_link_counts_it(self):
		with self.moves({"links_issued": 1}):
			auth.issue_link(READER, ROUTE)

	def test_redeeming_a_link_counts_it(self):
		token = self.issue()
		with self.moves({"links_redeemed": 1}):
			self.assertEqual(self.redeem(token).status_code, 303)

	def test_each_refused_link_is_counted_under_its_reason(self):
		cases = [
			# reason, how to make the token (and the route it is opened at)
			("malformed", lambda: ("hello", ROUTE)),
			("altered", lambda: (self.altered(self.issue()), ROUTE)),
			("unknown", lambda: (auth.new_token(), ROUTE)),
			("used", self.used_token),
			("expired", self.expired_token),
			("wrong_route", lambda: (self.issue(), "/webview/other")),
			("user_unavailable", self.token_of_disabled_user),
		]
		for reason, make in cases:
			with self.subTest(reason):
				token, route = make()
				with self.moves({f"links_refused:{reason}": 1}):
					self.assertEqual(self.redeem(token, route).status_code, auth.REFUSALS[reason][1])

	def test_rate_limited_redeems_are_counted_apart(self):
		limit = auth.refusal_limit()
		with self.moves({"links_refused:malformed": limit, "links_refused:rate_limited": 1}):
			statuses = [self.redeem("hello").status_code for _ in range(limit + 1)]
		self.assertEqual(statuses, [401] * limit + [429])

	def altered(self, token: str) -> str:
		return token[:10] + ("B" if token[10] == "A" else "A") + token[11:]

	def used_token(self):
		token = self.issue()
		auth.redeem(token, ROUTE)
		return token, ROUTE

	def expired_token(self):
		token = self.issue()
		key = auth._claims_key(auth.token_hash(token))
		claims = json.loads(frappe.cache.get(key))
		claims["exp"] -= auth.DEFAULT_TTL + 1
		frappe.cache.set(key, json.dumps(claims), keepttl=True)
		return token, ROUTE

	def token_of_disabled_user(self):
		user = ensure_user(f"wvk-metrics-{frappe.generate_hash(length=8)}@example.com")
		self.addCleanup(self.delete_user, user)
		token = self.issue(user)
		frappe.db.set_value("User", user, "enabled", 0)
		frappe.db.commit()
		return token, ROUTE

	def delete_user(self, user: str):
		frappe.delete_doc("User", user, force=True, ignore_permissions=True)
		frappe.db.commit()


class TestDeliveryCounters(MetricsTestCase):
	def test_publishing_counts_every_event(self):
		room = self.room()
		with self.moves({"events_published": 4}):
			publish.publish(room, EVENT, 1)
			publish_many([Event(room, EVENT, n) for n in range(3)])

	def test_an_event_published_after_commit_is_counted_when_it_is_sent(self):
		room = self.room()
		with self.moves({}):
			publish.publish(room, EVENT, "later", after_commit=True)
		with self.moves({"events_published": 1}):
			frappe.db.commit()

	def test_refused_events_are_not_counted(self):
		with self.moves({}), self.assertRaises(PublishError):
			publish_many([Event(self.room(), EVENT, 1), Event(self.room(), EVENT, object())])

	def own_room(self) -> str:
		"""The session user's own room, emptied: one they may catch up on."""
		room = user_room(frappe.session.user)
		clear_room(room)
		self.addCleanup(clear_room, room)
		return room

	def test_a_catch_up_counts_itself_and_the_events_it_replays(self):
		room = self.own_room()
		for n in range(5):
			publish.publish(room, EVENT, n)
		with self.moves({"catch_ups": 1, "events_replayed": 3}):
			answer = api.catch_up(room, after=2)
		self.assertFalse(answer["gap"])
		with self.moves({"catch_ups": 1}):
			api.catch_up(room, after=5)

	def test_a_catch_up_across_a_history_gap_counts_a_resync(self):
		room = self.own_room()
		with patch.dict(frappe.local.conf, {"webview_history_length": 5}):
			for n in range(12):
				publish.publish(room, EVENT, n)
		with self.moves({"catch_ups": 1, "events_replayed": 5, "resyncs": 1}):
			answer = api.catch_up(room, after=2)
		self.assertTrue(answer["gap"])

	def test_counting_never_fails_the_caller_when_redis_is_down(self):
		with queue_redis_at(f"redis://127.0.0.1:{unused_port()}"):
			metrics.count("links_issued")
			metrics.count_refused("used")
			metrics.count_catch_up({"events": [], "gap": False})


class TestMetricsEndpoint(MetricsTestCase):
	def get(self, **headers):
		return request(wsgi_client(), METRICS_URL, headers=headers)

	def families(self, text: str) -> dict:
		return {family.name: family for family in text_string_to_metric_families(text)}

	def render(self) -> str:
		"""The metrics as a scraper gets them."""
		self.site_config("webview_metrics_token", "render-token")
		response = self.get(**{metrics.TOKEN_HEADER: "render-token"})
		self.assertEqual(response.status_code, 200)
		return response.get_data(as_text=True)

	def test_metrics_are_prometheus_text_with_every_counter_and_refusal_reason(self):
		metrics.count("links_issued")
		metrics.count_refused("used")
		stored = metrics.counts()
		families = self.families(self.render())

		for name in metrics.COUNTERS:
			with self.subTest(name):
				(sample,) = families[f"webview_{name}"].samples
				self.assertEqual((sample.name, sample.value), (f"webview_{name}_total", stored.get(name, 0)))
		refused = {s.labels["reason"]: s.value for s in families["webview_links_refused"].samples}
		self.assertEqual(set(refused), {*auth.REFUSALS, "rate_limited"})
		self.assertEqual(refused["used"], stored["links_refused:used"])

	def live_webviews(self) -> float | None:
		family = self.families(self.render()).get("webview_live_webviews")
		return family and family.samples[0].value

	def test_live_webviews_are_presence_live_count(self):
		self.assertEqual(self.live_webviews(), presence.live_count())

	def test_a_page_joining_presence_is_one_more_live_webview(self):
		before = self.live_webviews()
		client = frappe.generate_hash(length=16)
		presence.join(client, READER)
		self.addCleanup(presence.leave, client, READER)
		self.assertEqual(self.live_webviews(), before + 1)

	def test_guests_get_no_metrics(self):
		self.site_config("webview_metrics_token", "s3cret-metrics-token")
		cases = [
			("no token", {}),
			("wrong token", {metrics.TOKEN_HEADER: "s3cret-metrics-tokeN"}),
			("token's prefix", {metrics.TOKEN_HEADER: "s3cret"}),
			("empty token", {metrics.TOKEN_HEADER: ""}),
		]
		for label, headers in cases:
			with self.subTest(label):
				self.assertEqual(self.get(**headers).status_code, 403)

	def test_without_a_configured_token_no_token_opens_the_metrics(self):
		self.site_config("webview_metrics_token", "None")
		self.assertEqual(self.get(**{metrics.TOKEN_HEADER: ""}).status_code, 403)
		self.assertEqual(self.get(**{metrics.TOKEN_HEADER: "None"}).status_code, 403)

	def test_a_scraper_with_the_token_gets_the_metrics(self):
		self.site_config("webview_metrics_token", "s3cret-metrics-token")
		response = self.get(**{metrics.TOKEN_HEADER: "s3cret-metrics-token"})
		self.assertEqual(response.status_code, 200)
		self.assertEqual(response.headers["Content-Type"], metrics.CONTENT_TYPE)
		self.assertIn("webview_links_issued", self.families(response.get_data(as_text=True)))

	def test_a_system_manager_gets_the_metrics_and_other_users_do_not(self):
		for user, status in ((MANAGER, 200), (READER, 403)):
			with self.subTest(user):
				self.assertEqual(self.get(Authorization=self.api_key_of(user)).status_code, status)

	def api_key_of(self, user: str) -> str:
		"""An Authorization header with a fresh API key of `user` (without User.save, which clears the cache)."""
		from frappe.utils.password import set_encrypted_password

		key, secret = frappe.generate_hash(length=15), frappe.generate_hash(length=15)
		frappe.db.set_value("User", user, "api_key", key)
		set_encrypted_password("User", user, secret, "api_secret")
		frappe.db.commit()
		return f"token {key}:{secret}"


class TestHealth(MetricsTestCase):
	def get(self):
		frappe.cache.delete_value(health.REPORT_KEY)  # a report is kept a few seconds
		response = request(wsgi_client(), HEALTH_URL)
		return response.status_code, json.loads(response.get_data())

	def test_health_is_200_when_everything_answers(self):
		status, report = self.get()
		self.assertEqual(status, 200, msg=report)
		self.assertEqual(set(report["checks"]), {"mariadb", "redis_cache", "redis_queue", "socketio"})
		self.assertTrue(all(check["ok"] for check in report["checks"].values()), msg=report)

	def test_health_is_503_naming_the_socket_server_check_when_none_answers(self):
		self.site_config("webview_socketio_probe_url", f"http://127.0.0.1:{unused_port()}/socket.io/")
		status, report = self.get()
		self.assertEqual(status, 503)
		self.assertEqual([name for name, c in report["checks"].items() if not c["ok"]], ["socketio"])

	def test_each_dependency_that_is_down_fails_its_own_check(self):
		dead = f"redis://127.0.0.1:{unused_port()}"
		no_socket_server = f"http://127.0.0.1:{unused_port()}/socket.io/"
		cases = [
			("mariadb", lambda: patch.object(frappe.local, "db", self.dead_database())),
			("redis_cache", lambda: patch.object(frappe, "cache", RedisWrapper.from_url(dead))),
			("redis_queue", lambda: queue_redis_at(dead)),
			(
				"socketio",
				lambda: patch.dict(frappe.local.conf, {"webview_socketio_probe_url": no_socket_server}),
			),
		]
		for name, down in cases:
			with self.subTest(name), down():
				report = health.run_checks()
				self.assertFalse(report["ok"])
				self.assertEqual([n for n, c in report["checks"].items() if not c["ok"]], [name])
				self.assertTrue(report["checks"][name]["error"])

	def dead_database(self):
		from frappe.database import get_db

		return get_db(host="127.0.0.1", port=unused_port(), user="nobody", password="wrong")
