"""The queue Redis: where event history, sequences and metrics live.

Not the cache Redis: `frappe.clear_cache()` deletes a site's keys there, and a production
cache Redis evicts keys when full. Frappe's socket.io server subscribes to the queue
Redis's `events` channel, so publishing there is what reaches the pages.
"""

import redis
from frappe.utils.background_jobs import get_redis_connection_without_auth

__all__ = ["connection"]


def connection() -> redis.Redis:
	"""This process's connection to the queue Redis (Frappe keeps one per process)."""
	return get_redis_connection_without_auth()
