"""A request's database connection, opened only when the request uses the database.

Frappe connects to the database lazily, but ends every GET request with a rollback, and
that rollback opens a MariaDB connection of its own when nothing else did: for a request
that only reads Redis (a catch-up), the connection is most of what the request costs,
and a reconnect storm of a thousand pages opens a thousand connections.
"""

from __future__ import annotations

import frappe

__all__ = ["end_without_connecting"]


def end_without_connecting() -> None:
	"""Let this request end without opening a database connection if it has not opened one.

	Call it at the end of a whitelisted method that needs no database: the closing rollback
	is skipped while there is no connection (no connection, no transaction to roll back),
	and does its usual work if something still connects after this call.
	"""
	db = getattr(frappe.local, "db", None)
	if db is None or db._conn is not None:
		return
	rollback = db.rollback

	def rollback_if_connected(*, save_point=None, **options):
		# `options`: v16's rollback also takes `chain` (frappe.app ends a request with it).
		if db._conn is not None or save_point:
			return rollback(save_point=save_point, **options)
		# What Frappe's rollback does, minus the SQL: there is no transaction to end.
		db.before_commit.reset()
		db.after_commit.reset()
		db.before_rollback.run()
		db.after_rollback.run()

	# The Database object is this request's own (frappe.connect makes one per request).
	db.rollback = rollback_if_connected
