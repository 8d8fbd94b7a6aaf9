"""The demo's publishers: a counter, a staged job and live tasks, to users' webviews."""

import random
import time

import frappe
from frappe.share import add_docshare

from webview_kit.progress import Progress
from webview_kit.publish import EVENT_COUNT, publish, user_room
from webview_kit_demo.setup import DEMO_DOCTYPE

DEMO_STAGES = ("Upload", "Validate", "Import")


def count(
	user: str,
	upto: int = 99,
	interval: float = 1.0,
	start: int = 0,
	event: str = EVENT_COUNT,
	stock: bool = False,
) -> None:
	"""Publish start..upto to `user`'s webviews, one value every `interval` seconds.

	Each publish retries for about 3 s, so the count rides out a Redis restart. With `stock`,
	Frappe's own `publish_realtime` sends the values instead: no sequence, no history.
	"""
	for value in range(start, upto + 1):
		if stock:
			frappe.publish_realtime(event, {"count": value}, user=user)
		else:
			publish(user_room(user), event, {"count": value}, retries=5)
		if value < upto:
			time.sleep(interval)


def enqueue_count(user: str, upto: int = 99, interval: float = 1.0) -> str:
	"""Run `count` as a background job on the short queue (the worker serves it first); return the job id."""
	job = frappe.enqueue(
		count, queue="short", user=user, upto=upto, interval=interval, timeout=upto * interval + 60
	)
	return job.id


# -- progress -------------------------------------------------------------------
class DemoFailure(Exception):
	"""The failure a demo job is asked to have."""


def progress(
	user: str, steps: int = 5, interval: float = 0.5, fail_at: str | None = None, job: str | None = None
) -> str:
	"""Run a pretend import through DEMO_STAGES, `steps` updates a stage; return its job id.

	With `fail_at` (a stage name) it fails half-way through that stage, as a job would.
	"""
	if fail_at and fail_at not in DEMO_STAGES:
		raise ValueError(f"fail_at must be one of {DEMO_STAGES}")
	try:
		with Progress(user, "Importing 1,200 contacts", list(DEMO_STAGES), job=job) as run:
			for stage in DEMO_STAGES:
				run.stage(stage, f"{stage}…")
				for step in range(1, steps + 1):
					time.sleep(interval)
					if stage == fail_at and step > steps // 2:
						raise DemoFailure(f"Row {42 * step} has no email address")
					run.update(100 * step / steps, f"{stage}: {step} of {steps}")
			return run.job
	except DemoFailure:
		return run.job


def enqueue_progress(user: str, steps: int = 5, interval: float = 0.5, fail_at: str | None = None) -> str:
	"""Say the job is queued, run `progress` as a background job, and return the job id."""
	job = frappe.generate_hash(length=12)
	Progress(user, "Importing 1,200 contacts", list(DEMO_STAGES), job=job).queued()
	frappe.enqueue(
		progress,
		queue="short",
		user=user,
		steps=steps,
		interval=interval,
		fail_at=fail_at,
		job=job,
		timeout=len(DEMO_STAGES) * steps * interval + 60,
	)
	return job


# -- live tasks -------------------------------------------------------------------
def create_task(title: str, users: list[str], status: str = "Open", priority: str = "Medium") -> str:
	"""Create a demo task shared (read) with `users`; return its name."""
	doc = frappe.get_doc({"doctype": DEMO_DOCTYPE, "title": title, "status": status, "priority": priority})
	doc.insert(ignore_permissions=True)
	for user in users:
		add_docshare(DEMO_DOCTYPE, doc.name, user, flags={"ignore_share_permission": True})
	frappe.db.commit()
	return doc.name


def tasks(user: str, rounds: int = 20, interval: float = 2.0) -> None:
	"""Keep `user`'s demo task list busy: add, advance and remove tasks, one change per interval."""
	names = [create_task(f"Demo task {i}", [user]) for i in range(1, 4)]
	for i in range(rounds):
		time.sleep(interval)
		kind = i % 4
		if kind == 3 and len(names) > 2:
			frappe.delete_doc(DEMO_DOCTYPE, names.pop(0), ignore_permissions=True)
		elif kind == 2:
			names.append(create_task(f"Demo task {len(names) + i + 1}", [user]))
		else:
			doc = frappe.get_doc(DEMO_DOCTYPE, random.choice(names))
			doc.progress = min(100, (doc.progress or 0) + 25)
			doc.status = "Done" if doc.progress >= 100 else "Working"
			doc.priority = random.choice(("Low", "Medium", "High"))
			doc.save(ignore_permissions=True)
		frappe.db.commit()
