"""Prometheus metrics of deep links and delivery, shared by every process of a site.

Gunicorn workers, background workers and bench commands all issue, redeem and publish,
so each count is an `HINCRBY` on one hash per site in Redis, and a scrape reads that
hash once and renders it with prometheus_client through a custom collector. The hash
lives in the queue Redis, beside the event history: `frappe.clear_cache()` deletes a
site's keys in the cache Redis, and a production cache Redis evicts keys when full.

Counting never fails the caller: if Redis is unreachable the increment is logged and
dropped. To count something new, add it to `COUNTERS` and call `count(name)` where it
happens; labelled counters keep one hash field per label value (`links_refused:expired`).
"""

from __future__ import annotations

import hmac

import frappe
import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from webview_kit.infra import queue_redis

__all__ = [
	"CONTENT_TYPE",
	"COUNTERS",
	"TOKEN_HEADER",
	"count",
	"count_catch_up",
	"count_refused",
	"counts",
	"key",
	"render",
	"scraper_allowed",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
PREFIX = "webview_"
EVENTS_PUBLISHED = "events_published"
COUNTERS = {
	"links_issued": "Deep links issued.",
	"links_redeemed": "Deep links redeemed: a webview session started.",
	EVENTS_PUBLISHED: "Events published to webview rooms.",
	"history_rooms_evicted": "Rooms whose history expired early to keep the site within its history budget.",
	"catch_ups": "Catch-up requests answered.",
	"events_replayed": "Events sent in catch-up answers.",
	"resyncs": "Catch-up answers with a history gap: the page jumped to the latest state.",
	"actions_run": "Webview actions run.",
	"actions_replayed": "Webview action retries answered with the stored outcome, not run again.",
}
REFUSED = "links_refused"
# Frappe answers 401 to any `Authorization: Bearer` that is not one of its OAuth tokens
# before app code runs, so a scraper's token travels in a header of its own.
TOKEN_HEADER = "X-Webview-Metrics-Token"


def key() -> str:
	"""The Redis hash of this site's counters (a Lua script may count into it as it works)."""
	return f"webview_kit:metrics:{frappe.local.site}"


def _increment(fields: dict[str, int]) -> None:
	try:
		pipe = queue_redis.connection().pipeline(transaction=False)
		for field, amount in fields.items():
			pipe.hincrby(key(), field, amount)
		pipe.execute()
	except redis.exceptions.RedisError as e:
		frappe.logger("webview_kit").warning(f"metrics not counted ({fields}): {e}")


def count(name: str, amount: int = 1) -> None:
	"""Add `amount` to counter `name` (a key of COUNTERS)."""
	if name not in COUNTERS:
		raise KeyError(f"Unknown counter {name!r}; add it to COUNTERS")
	_increment({name: amount})


def count_refused(reason: str) -> None:
	"""Count a refused deep link under `reason`."""
	_increment({f"{REFUSED}:{reason}": 1})


def count_catch_up(answer: dict) -> None:
	"""Count one catch-up answer (from `publish.history`): the events it replays and any gap."""
	_increment({"catch_ups": 1, "events_replayed": len(answer["events"]), "resyncs": int(answer["gap"])})


def counts() -> dict[str, int]:
	"""Every counter of this site as stored: `{"links_issued": 3, "links_refused:used": 1, ...}`."""
	return {k.decode(): int(v) for k, v in queue_redis.connection().hgetall(key()).items()}


class RedisCollector(Collector):
	"""Reads this site's counters from Redis at scrape time.

	What only the domain knows comes in from the caller: every refusal reason (each is
	listed, at 0 too) and the number of live webviews.
	"""

	def __init__(self, refusal_reasons: list[str], live_webviews: int):
		self.refusal_reasons = refusal_reasons
		self.live_webviews = live_webviews

	def collect(self):
		stored = counts()
		for name, documentation in COUNTERS.items():
			yield CounterMetricFamily(PREFIX + name, documentation, value=stored.get(name, 0))
		refused = CounterMetricFamily(PREFIX + REFUSED, "Deep links refused, by reason.", labels=["reason"])
		seen = {field.split(":", 1)[1] for field in stored if field.startswith(f"{REFUSED}:")}
		for reason in sorted(set(self.refusal_reasons) | seen):
			refused.add_metric([reason], stored.get(f"{REFUSED}:{reason}", 0))
		yield refused
		yield GaugeMetricFamily(
			PREFIX + "live_webviews", "Webview pages connected now.", value=self.live_webviews
		)


def render(refusal_reasons: list[str], live_webviews: int) -> bytes:
	"""This site's metrics in the Prometheus text format."""
	registry = CollectorRegistry(auto_describe=False)
	registry.register(RedisCollector(refusal_reasons, live_webviews))
	return generate_latest(registry)


def scraper_allowed(presented: str | None) -> bool:
	"""Whether `presented` is the site's `webview_metrics_token` (never true while none is set)."""
	expected = frappe.conf.get("webview_metrics_token")
	if not expected or not presented:
		return False
	return hmac.compare_digest(presented.encode(), str(expected).encode())
