"""Deep-link tokens: issue, redeem, refuse, revoke, and the scope of their sessions."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_url
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from webview_kit import auth, scope
from webview_kit.auth import LinkError
from webview_kit.infra import compat
from webview_kit.publish import EVENT_SESSION_ENDED, room_head, user_room
from webview_kit.tests.support import (
	clear_room,
	ensure_user,
	run_concurrently,
	session_data,
	sessions_of,
	sign_in,
)

ROUTE = "/webview/count"
READER = "wvk-reader@example.com"
OTHER = "wvk-other@example.com"
ISSUER = "wvk-issuer@example.com"
MANAGER = "wvk-manager@example.com"
BODY = slice(len(auth.PREFIX), len(auth.PREFIX) + 43)


def token_of(link: dict) -> str:
	(token,) = parse_qs(urlsplit(link["url"]).query)[scope.TOKEN_PARAM]
	return token


def claims_key(token: str) -> str:
	return auth._claims_key(auth.token_hash(token))


def flip(token: str, index: int) -> str:
	"""`token` with the character at `index` replaced by another valid token character."""
	return token[:index] + ("B" if token[index] == "A" else "A") + token[index + 1 :]


class AuthTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(READER)
		ensure_user(OTHER)
		ensure_user(ISSUER, roles=("Webview Issuer",))
		ensure_user(MANAGER, roles=("System Manager",))

	def setUp(self):
		frappe.set_user("Administrator")
		self.addCleanup(frappe.set_user, "Administrator")
		# Links issued "in the past" by move_back_in_time must not predate an earlier test's revoke.
		frappe.db.delete("DefaultValue", {"parent": auth.REVOKED_PARENT, "defkey": READER})
		frappe.db.commit()

	def issue(self, user: str = READER, route: str = ROUTE, **kwargs) -> str:
		return token_of(auth.issue_link(user, route, **kwargs))

	def temporary_user(self, label: str) -> str:
		email = f"wvk-{label}-{frappe.generate_hash(length=8)}@example.com"
		ensure_user(email)
		self.addCleanup(self.delete_user, email)
		return email

	def delete_user(self, email: str):
		frappe.set_user("Administrator")
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, force=True, ignore_permissions=True)
			frappe.db.commit()

	def refusal(self, token, route: str = ROUTE) -> LinkError:
		with self.assertRaises(LinkError) as raised:
			auth.redeem(token, route)
		return raised.exception


class TestIssue(AuthTestCase):
	def test_link_points_at_the_route_with_a_token_parameter(self):
		link = auth.issue_link(READER, ROUTE)
		url = urlsplit(link["url"])
		self.assertEqual(f"{url.scheme}://{url.netloc}", get_url())
		self.assertEqual(url.path, ROUTE)
		self.assertEqual(list(parse_qs(url.query)), [scope.TOKEN_PARAM])
		token = token_of(link)
		self.assertTrue(token.startswith("wvk_"))
		auth.check_format(token)
		self.assertEqual(link["link_id"], auth.token_hash(token)[:12])

	def test_tokens_carry_256_random_bits_and_never_repeat(self):
		tokens = {auth.new_token() for _ in range(1000)}
		self.assertEqual(len(tokens), 1000)
		for token in list(tokens)[:20]:
			body = token[BODY]
			self.assertGreaterEqual(len(body) * 6, 256)
			auth.check_format(token)

	def test_default_ttl_is_120_seconds(self):
		link = auth.issue_link(READER, ROUTE)
		self.assertEqual(link["expires_in"], 120)
		claims = json.loads(frappe.cache.get(claims_key(token_of(link))))
		self.assertAlmostEqual(claims["exp"] - claims["iat"], 120)

	def test_claims_are_kept_in_redis_with_a_ttl(self):
		token = self.issue(ttl=60)
		remaining = frappe.cache.ttl(claims_key(token))
		self.assertTrue(60 < remaining <= 60 + auth.USED_MARK_TTL, msg=f"TTL is {remaining}")

	def test_claims_name_user_route_issuer_and_device(self):
		token = self.issue(device="phone-1")
		claims = json.loads(frappe.cache.get(claims_key(token)))
		self.assertEqual(
			{k: claims[k] for k in ("user", "route", "issuer", "device")},
			{"user": READER, "route": ROUTE, "issuer": "Administrator", "device": "phone-1"},
		)

	def test_ttl_is_capped_at_900_seconds_by_default(self):
		self.assertEqual(auth.issue_link(READER, ROUTE, ttl=900)["expires_in"], 900)
		with self.assertRaises(frappe.ValidationError):
			auth.issue_link(READER, ROUTE, ttl=901)

	def test_a_ttl_of_zero_or_less_is_refused_not_defaulted(self):
		for ttl in (0, -5):
			with self.subTest(ttl=ttl), self.assertRaisesRegex(frappe.ValidationError, "ttl must be between"):
				auth.issue_link(READER, ROUTE, ttl=ttl)

	def test_a_long_bad_route_is_quoted_short_in_the_refusal(self):
		with self.assertRaises(frappe.ValidationError) as refused:
			auth.issue_link(READER, "/" + "a" * 5000)
		self.assertLess(len(str(refused.exception)), 200)

	def test_ttl_cap_follows_the_site_setting(self):
		frappe.local.conf.webview_link_max_ttl = 300
		self.addCleanup(frappe.local.conf.pop, "webview_link_max_ttl")
		self.assertEqual(auth.issue_link(READER, ROUTE, ttl=300)["expires_in"], 300)
		for ttl in (301, 900):
			with self.subTest(ttl=ttl), self.assertRaises(frappe.ValidationError):
				auth.issue_link(READER, ROUTE, ttl=ttl)

	def test_negative_ttl_is_refused(self):
		with self.assertRaises(frappe.ValidationError):
			auth.issue_link(READER, ROUTE, ttl=-1)

	def test_anyone_may_issue_a_link_for_themself(self):
		frappe.set_user(READER)
		self.assertEqual(auth.redeem(self.issue(READER), ROUTE)["user"], READER)

	def test_plain_user_may_not_issue_for_someone_else(self):
		frappe.set_user(READER)
		with self.assertRaises(frappe.PermissionError):
			auth.issue_link(OTHER, ROUTE)

	def test_issuer_role_and_system_manager_may_issue_for_others(self):
		for issuer in (ISSUER, MANAGER, "Administrator"):
			with self.subTest(issuer=issuer):
				frappe.set_user(issuer)
				claims = auth.redeem(self.issue(OTHER), ROUTE)
				self.assertEqual((claims["user"], claims["issuer"]), (OTHER, issuer))

	def test_no_link_for_a_disabled_or_unknown_user(self):
		disabled = self.temporary_user("disabled")
		ensure_user(disabled, enabled=False)
		for user in (disabled, "no-such-user-wvk@example.com"):
			with self.subTest(user=user), self.assertRaises(frappe.ValidationError):
				auth.issue_link(user, ROUTE)

	def test_bad_routes_are_refused(self):
		routes = [
			"/app",
			"/webview/no-such-page",
			"webview/count",
			"/webview//count",
			"/webview/../app",
			"/webview/count?next=/app",
			"/webview/",
			"/WEBVIEW/count",
			"https://evil.example/webview/count",
			"",
			None,
		]
		for route in routes:
			with self.subTest(route=route), self.assertRaises(frappe.ValidationError):
				auth.issue_link(READER, route)

	def test_issue_is_audited(self):
		link = auth.issue_link(READER, ROUTE)
		row = frappe.get_last_doc("Activity Log", filters={"subject": ("like", f"%{link['link_id']}%")})
		self.assertEqual((row.user, row.status, row.operation), (READER, "Success", "Login"))
		self.assertIn("issued by Administrator", row.subject)


class TestRedeem(AuthTestCase):
	def test_redeem_returns_the_claims(self):
		token = self.issue(device="phone-1")
		claims = auth.redeem(token, ROUTE)
		self.assertEqual((claims["user"], claims["route"], claims["device"]), (READER, ROUTE, "phone-1"))
		self.assertEqual(claims["link_id"], auth.token_hash(token)[:12])

	def test_route_with_a_trailing_slash_is_the_same_route(self):
		self.assertEqual(auth.redeem(self.issue(), ROUTE + "/")["route"], ROUTE)

	def test_reused_token_is_rejected(self):
		token = self.issue()
		auth.redeem(token, ROUTE)
		self.assertEqual(self.refusal(token).reason, "used")

	def test_bad_tokens_are_refused_with_their_reason_and_status(self):
		cases = [
			# label, how to make the token (and route), reason, HTTP status
			("expired", self.expired_token, "expired", 410),
			("already used", self.used_token, "used", 410),
			("altered body", lambda: (flip(self.issue(), 10), ROUTE), "altered", 401),
			("altered checksum", lambda: (flip(self.issue(), -3), ROUTE), "altered", 401),
			("malformed: empty", lambda: ("", ROUTE), "malformed", 401),
			("malformed: none", lambda: (None, ROUTE), "malformed", 401),
			("malformed: junk", lambda: ("hello", ROUTE), "malformed", 401),
			("malformed: truncated", lambda: (self.issue()[:-1], ROUTE), "malformed", 401),
			("malformed: extended", lambda: (self.issue() + "A", ROUTE), "malformed", 401),
			("malformed: other prefix", lambda: ("wvx_" + self.issue()[4:], ROUTE), "malformed", 401),
			(
				"malformed: space inside",
				lambda: (self.issue()[:20] + " " + self.issue()[21:], ROUTE),
				"malformed",
				401,
			),
			("unknown (never issued)", lambda: (auth.new_token(), ROUTE), "unknown", 401),
			("another route", lambda: (self.issue(), "/webview/other"), "wrong_route", 403),
			("disabled user", self.token_of_disabled_user, "user_unavailable", 403),
			("deleted user", self.token_of_deleted_user, "user_unavailable", 403),
			("another site", self.token_of_another_site, "unknown", 401),
		]
		for label, make, reason, status in cases:
			with self.subTest(label):
				token, route = make()
				error = self.refusal(token, route)
				self.assertEqual((error.reason, error.status), (reason, status))
				self.assertEqual(error.message, auth.REFUSALS[reason][0])

	def expired_token(self):
		token = self.issue(ttl=60)
		self.move_back_in_time(token, 61)
		return token, ROUTE

	def move_back_in_time(self, token: str, seconds: int):
		"""Make the stored claims as old as if they were issued `seconds` earlier."""
		key = claims_key(token)
		claims = json.loads(frappe.cache.get(key))
		claims["iat"] -= seconds
		claims["exp"] -= seconds
		frappe.cache.set(key, json.dumps(claims), keepttl=True)

	def used_token(self):
		token = self.issue()
		auth.redeem(token, ROUTE)
		return token, ROUTE

	def token_of_disabled_user(self):
		user = self.temporary_user("disabled")
		token = self.issue(user)
		# Not User.save(): that clears Frappe's whole cache, links included (see the cache tests)
		frappe.db.set_value("User", user, "enabled", 0)
		frappe.db.commit()
		return token, ROUTE

	def token_of_deleted_user(self):
		user = self.temporary_user("deleted")
		token = self.issue(user)
		self.delete_user(user)
		return token, ROUTE

	def token_of_another_site(self):
		"""A token whose claims live only under another site's cache prefix."""
		token = self.issue()
		key = claims_key(token)
		other_site_key = key.replace(f"{frappe.conf.db_name}|".encode(), b"_another_site_db|", 1)
		self.assertNotEqual(other_site_key, key)
		frappe.cache.rename(key, other_site_key)
		self.addCleanup(frappe.cache.delete, other_site_key)
		return token, ROUTE

	def test_an_expired_link_works_just_before_it_expires(self):
		token = self.issue(ttl=60)
		self.move_back_in_time(token, 55)
		self.assertEqual(auth.redeem(token, ROUTE)["user"], READER)

	def test_invalid_tokens_look_the_same_to_the_person(self):
		shown = {auth.refuse(reason).message for reason in ("malformed", "altered", "unknown")}
		self.assertEqual(len(shown), 1)
		self.assertEqual(
			{auth.refuse(reason).status for reason in ("malformed", "altered", "unknown")}, {401}
		)

	def test_outstanding_link_survives_frappe_clearing_its_cache(self):
		token = self.issue()
		frappe.clear_cache()  # what saving any User, `bench migrate` or `bench clear-cache` do
		self.assertEqual(auth.redeem(token, ROUTE)["user"], READER)

	def test_token_with_a_trailing_newline_is_malformed(self):
		self.assertEqual(self.refusal(self.issue() + "\n").reason, "malformed")

	def test_random_and_mutated_tokens_are_all_refused(self):
		live = self.issue()
		alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		mutations = st.tuples(
			st.sampled_from(["replace", "insert", "delete", "truncate", "extend", "swapcase", "recompute"]),
			st.integers(min_value=0, max_value=len(live) - 1),
			st.one_of(st.sampled_from(alphabet), st.characters()),
		)

		def mutate(kind: str, at: int, char: str) -> str:
			if kind == "replace":
				return live[:at] + char + live[at + 1 :]
			if kind == "insert":
				return live[:at] + char + live[at:]
			if kind == "delete":
				return live[:at] + live[at + 1 :]
			if kind == "truncate":
				return live[:at]
			if kind == "extend":
				return live + char * (at % 5 + 1)
			if kind == "swapcase":
				return live[:at] + live[at:].swapcase()
			# a well-formed token with a correct checksum but one changed body character
			body = live[BODY]
			body = body[: at % 43] + ("A" if body[at % 43] != "A" else "B") + body[at % 43 + 1 :]
			return f"{auth.PREFIX}{body}{auth._checksum(body)}"

		tokens = st.one_of(
			mutations.map(lambda m: mutate(*m)),
			st.text(max_size=120),
			st.from_regex(auth.TOKEN_RE, fullmatch=True),
			st.builds(lambda: auth.new_token()),
			st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
		)

		tried = []

		@settings(max_examples=1000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
		@given(token=tokens)
		def each_is_refused(token):
			assume(token != live)
			with self.assertRaises(LinkError):  # any other exception fails the test
				auth.redeem(token, ROUTE)
			tried.append(token)

		each_is_refused()
		self.assertGreaterEqual(
			len(tried), 1000, msg=f"only {len(tried)} tokens ({len(set(tried))} distinct)"
		)
		self.assertEqual(
			auth.redeem(live, ROUTE)["user"], READER, msg="no refused attempt may use up the live link"
		)

	def test_concurrent_redeems_have_exactly_one_winner(self):
		for _round in range(3):
			token = self.issue()

			def redeem(token: str):
				return auth.redeem(token, ROUTE)

			results = run_concurrently(redeem, [(token,)] * 8)
			winners = [r for r in results if isinstance(r, dict)]
			losers = [r for r in results if not isinstance(r, dict)]
			self.assertEqual(len(winners), 1, msg=f"results: {results}")
			self.assertEqual(winners[0]["user"], READER)
			self.assertEqual([(type(e), e.reason) for e in losers], [(LinkError, "used")] * 7)


class TestSecrecy(AuthTestCase):
	def redis_text(self, url: str) -> str:
		"""Every key and value of the Redis at `url`, as one string."""
		import redis

		conn = redis.Redis.from_url(url)
		self.addCleanup(conn.close)
		parts = []
		read = {
			b"string": conn.get,
			b"hash": conn.hgetall,
			b"set": conn.smembers,
			b"list": lambda k: conn.lrange(k, 0, -1),
			b"zset": lambda k: conn.zrange(k, 0, -1),
			b"stream": lambda k: conn.xrange(k),
		}
		for key in conn.scan_iter(count=1000):
			parts.append(repr(key))
			kind = conn.type(key)
			if kind in read:
				parts.append(repr(read[kind](key)))
		return "\n".join(parts)

	def test_token_is_stored_only_as_a_hash_and_never_audited(self):
		started = frappe.utils.now_datetime()
		live, used, refused = self.issue(), self.issue(), self.issue()
		auth.redeem(used, ROUTE)
		with self.assertRaises(LinkError):
			auth.redeem(refused, "/webview/other")
		frappe.db.commit()

		stored = self.redis_text(frappe.conf.redis_cache) + self.redis_text(frappe.conf.redis_queue)
		self.assertIn(auth.token_hash(live), stored, msg="the scan must see the stored hash")
		logs = frappe.get_all("Activity Log", filters={"creation": (">=", started)}, fields=["*"])
		self.assertGreaterEqual(len(logs), 3)
		for token in (live, used, refused):
			for secret in (token, token[BODY]):
				self.assertNotIn(secret, stored)
				self.assertNotIn(secret, repr(logs))


class TestSessions(AuthTestCase):
	def setUp(self):
		auth.revoke(READER)  # sessions earlier tests and runs left, so counts start from none
		frappe.db.commit()
		super().setUp()
		clear_room(user_room(READER))
		self.addCleanup(clear_room, user_room(READER))

	def test_start_session_makes_a_fresh_session_scoped_to_the_route(self):
		claims = auth.redeem(self.issue(), ROUTE)
		first, second = sign_in(claims), sign_in(auth.redeem(self.issue(), ROUTE))
		self.assertNotEqual(first, second)
		self.assertLessEqual({first, second}, sessions_of(READER))
		self.assertEqual(session_data(first)[scope.SESSION_KEY]["route"], ROUTE)
		self.assertEqual(session_data(first)["user"], READER)
		lifetime = session_data(first)[scope.SESSION_KEY]["expires"] - time.time()
		self.assertAlmostEqual(lifetime, 12 * 3600, delta=60, msg="12 hours by default")

	def test_revoke_ends_webview_sessions_only_and_tells_the_pages(self):
		webview = [sign_in(auth.redeem(self.issue(), ROUTE)) for _ in range(2)]
		normal = sign_in(user=READER)
		before = room_head(user_room(READER))["seq"]

		self.assertEqual(auth.revoke(READER), 2)

		remaining = sessions_of(READER)
		self.assertFalse(set(webview) & remaining)
		self.assertIn(normal, remaining, msg="a normal login is not a webview session")
		for sid in webview:
			self.assertIsNone(frappe.cache.hget("session", sid))
		head = room_head(user_room(READER))
		self.assertEqual(head["seq"], before + 1)
		ended = [e for e in head["latest"].values() if e["event"] == EVENT_SESSION_ENDED]
		self.assertEqual([e["data"] for e in ended], [{"reason": "revoked"}])
		self.assertEqual(auth.revoke(READER), 0, msg="a second revoke finds nothing left")

	def test_revoke_finds_sessions_after_frappe_clears_its_cache(self):
		sid = sign_in(auth.redeem(self.issue(), ROUTE))
		frappe.clear_cache()  # what saving any User, `bench migrate` or `bench clear-cache` do
		self.assertEqual(auth.revoke(READER), 1)
		self.assertNotIn(sid, sessions_of(READER))

	def test_revoke_finds_sessions_the_cache_redis_lost(self):
		# A restarted cache Redis (no persistence, LRU eviction in stock bench) forgets session
		# data; Frappe reloads the sessions from tabSessions, and so must revoke find them.
		sid = sign_in(auth.redeem(self.issue(), ROUTE))
		frappe.cache.hdel("session", sid)
		self.assertEqual(auth.revoke(READER), 1)
		self.assertNotIn(sid, sessions_of(READER))

	def test_revoke_voids_the_links_not_yet_opened(self):
		waiting = self.issue()
		auth.revoke(READER)
		with self.assertRaises(LinkError) as refused:
			auth.redeem(waiting, ROUTE)
		self.assertEqual(refused.exception.reason, "revoked")
		later = self.issue()
		self.assertEqual(auth.redeem(later, ROUTE)["user"], READER, msg="links issued after it work")

	def test_a_session_past_its_lifetime_is_pruned(self):
		sid = sign_in(auth.redeem(self.issue(), ROUTE))
		data = session_data(sid)
		data[scope.SESSION_KEY]["expires"] = time.time() - 1
		frappe.db.sql(
			"update tabSessions set sessiondata = %s where sid = %s", (compat.session_data_text(data), sid)
		)
		frappe.cache.hdel("session", sid)
		self.assertGreaterEqual(auth.prune_sessions(), 1)
		self.assertNotIn(sid, sessions_of(READER))

	def test_revoke_is_audited(self):
		sign_in(auth.redeem(self.issue(), ROUTE))
		auth.revoke(READER)
		row = frappe.get_last_doc(
			"Activity Log", filters={"user": READER, "subject": ("like", "Webview sessions revoked%")}
		)
		self.assertEqual(row.subject, "Webview sessions revoked (1)")


class TestScope(FrappeTestCase):
	def test_scoped_session_may_reach_only_its_page_and_what_it_needs(self):
		cases = [
			(ROUTE, True),
			(ROUTE + "/", True),
			# Assets are the front's business; under /assets a raw `..` reaches any page.
			("/assets/webview_kit/dist/js/webview.bundle.js", False),
			("/assets/../webview/list", False),
			("/webview/count/../list", False),
			("/webview/../webview/count", False),
			("//api/method/frappe.client.get_list", False),
			("/api/method//frappe.client.get_list", False),
			("/api/method/webview_kit.api.catch_up/", True),
			("/api/v1/method/frappe.client.get_list", False),
			("/api/v2/document/User", False),
			("/desk", False),
			("/printview", False),
			("/api/method/frappe.realtime.can_subscribe_doc/../frappe.client.get_list", False),
			("/api/method/webview_kit.api.catch_up", True),
			("/api/method/frappe.realtime.get_user_info", True),
			("/api/method/frappe.realtime.can_subscribe_doc", True),
			("/api/method/frappe.realtime.can_subscribe_doctype", True),
			("/api/method/frappe.auth.get_logged_user", True),
			("/api/method/ping", True),
			("/api/method/logout", True),
			("/app", False),
			("/app/user", False),
			("/api/resource/User", False),
			("/api/resource/User/Administrator", False),
			("/api/method/frappe.client.get_list", False),
			("/api/method/webview_kit.api.issue_link", False),
			("/api/method/webview_kit.api.revoke_sessions", False),
			("/api/method/webview_kit.api.catch_up.evil", False),
			("/api/v2/method/frappe.client.get_list", False),
			("/webview/other", False),
			("/webview/count-other", False),
			("/webview/countx", False),
			("/webview", False),
			("/", False),
			("/login", False),
			("/me", False),
			("/assets", False),
			("/private/files/secret.pdf", False),
		]
		for path, allowed in cases:
			with self.subTest(path=path):
				self.assertIs(scope.is_allowed(path, ROUTE), allowed)

	def test_apps_may_extend_the_allowed_methods(self):
		from frappe.tests.utils import patch_hooks

		with patch_hooks({"webview_allowed_methods": ["myapp.api.page_data"]}):
			self.assertTrue(scope.is_allowed("/api/method/myapp.api.page_data", ROUTE))
			self.assertFalse(scope.is_allowed("/api/method/webview_kit.api.catch_up", ROUTE))
