"""Publish a background job's progress, stage by stage, to its user's webviews.

::

    from webview_kit.progress import Progress

    with Progress("jane@example.com", "Importing customers", ["Upload", "Validate", "Import"]) as progress:
        for i, chunk in enumerate(chunks):
            progress.update(100 * i / len(chunks))  # percent of the current stage
            ...
        progress.next_stage()
        ...
    # Leaving the block publishes `done`; an exception publishes `failed` and propagates.

Every event carries the whole state (job, title, stages, stage, percent, state, message),
so a page that opens late or reconnects shows the right thing from the last event alone.
The progress page (`/webview/progress`) shows it; `?job=<id>` pins it to one job.

Events are not coalesced: the user's room carries other events too (counts, list rows),
and a coalesced event would cut that room's history down to itself.
"""

from __future__ import annotations

import frappe

from webview_kit.publish import PublishError, publish, user_room

__all__ = ["DONE", "EVENT_PROGRESS", "FAILED", "QUEUED", "RUNNING", "Progress"]

EVENT_PROGRESS = "webview_kit.progress"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Progress:
	"""The progress of one job for `user`, through `stages` (names shown in order)."""

	def __init__(self, user: str, title: str, stages: list[str], job: str | None = None):
		if not stages:
			raise ValueError("A job needs at least one stage")
		self.user = user
		self.title = title
		self.stages = list(stages)
		self.job = job or _current_job_id() or frappe.generate_hash(length=12)
		self.stage_index = 0
		self.stage_percent = 0.0
		self.state = QUEUED

	def __enter__(self) -> Progress:
		self.state = RUNNING
		self.publish()
		return self

	def __exit__(self, exc_type, exc, tb) -> bool:
		if exc is None:
			self.done()
		else:
			self.fail(str(exc) or exc_type.__name__)
		return False

	@property
	def percent(self) -> int:
		"""Overall percent: finished stages plus the current stage's share."""
		if self.state == DONE:
			return 100
		return int((self.stage_index + self.stage_percent / 100) * 100 / len(self.stages))

	def queued(self) -> None:
		"""Say the job waits in a queue (call it where you enqueue, with the same `job`)."""
		self.state = QUEUED
		self.publish()

	def stage(self, stage: int | str, message: str = "") -> None:
		"""Start `stage` (its index or name)."""
		self.stage_index = stage if isinstance(stage, int) else self.stages.index(stage)
		self.stage_percent = 0.0
		self.publish(message)

	def next_stage(self, message: str = "") -> None:
		self.stage(min(self.stage_index + 1, len(self.stages) - 1), message)

	def update(self, stage_percent: float, message: str = "") -> None:
		"""Set how far the current stage is, 0 to 100."""
		self.stage_percent = max(0.0, min(100.0, float(stage_percent)))
		self.publish(message)

	def done(self, message: str = "") -> None:
		self.state = DONE
		self.stage_index = len(self.stages) - 1
		self.stage_percent = 100.0
		self.publish(message)

	def fail(self, message: str) -> None:
		self.state = FAILED
		self.publish(message)

	def as_dict(self, message: str = "") -> dict:
		return {
			"job": self.job,
			"title": self.title,
			"stages": self.stages,
			"stage": self.stage_index,
			"percent": self.percent,
			"state": self.state,
			"message": message,
		}

	def publish(self, message: str = "") -> None:
		# The job matters more than its progress bar: a hiccup is logged, not raised.
		try:
			publish(user_room(self.user), EVENT_PROGRESS, self.as_dict(message), retries=2)
		except PublishError:
			frappe.log_error(title="webview_kit: progress not published")


def _current_job_id() -> str | None:
	from rq import get_current_job

	job = get_current_job()
	return job.id if job else None
