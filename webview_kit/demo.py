"""The demo: a counter published to a user's webviews, and the users that watch it."""

import time

import frappe

from webview_kit.publish import EVENT_COUNT, publish, user_room


def count(user: str, upto: int = 99, interval: float = 1.0, start: int = 0) -> None:
	"""Publish start..upto to `user`'s webviews, one value every `interval` seconds."""
	for value in range(start, upto + 1):
		publish(user_room(user), EVENT_COUNT, {"count": value}, retries=3)
		if value < upto:
			time.sleep(interval)


def enqueue_count(user: str, upto: int = 99, interval: float = 1.0) -> str:
	"""Run `count` as a background job on the long queue; return the job id."""
	job = frappe.enqueue(
		count, queue="long", user=user, upto=upto, interval=interval, timeout=upto * interval + 60
	)
	return job.id


def ensure_user(email: str, first_name: str, roles: tuple[str, ...] = ()) -> str:
	"""Create an enabled website user `email` (with `roles`) unless it exists; return its name."""
	if not frappe.db.exists("User", email):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": first_name,
				"send_welcome_email": 0,
				"user_type": "Website User",
				# Skips the gravatar lookup job, which cannot reach the internet from a test stack.
				"user_image": "/assets/webview_kit/images/user.svg",
			}
		)
		# Demo and test users come in batches; Frappe's sign-up throttle is for strangers.
		frappe.flags.in_import = True
		user.insert(ignore_permissions=True)
		frappe.flags.in_import = False
	user = frappe.get_doc("User", email)
	if not user.enabled:
		user.enabled = 1
		user.save(ignore_permissions=True)
	if roles:
		user.add_roles(*roles)
	frappe.db.commit()
	return user.name


def new_api_key(user: str) -> str:
	"""Give `user` a fresh API secret and return `key:secret` for an Authorization header."""
	doc = frappe.get_doc("User", user)
	doc.api_key = doc.api_key or frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.save(ignore_permissions=True)
	frappe.db.commit()
	return f"{doc.api_key}:{secret}"
