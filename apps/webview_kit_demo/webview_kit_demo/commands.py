"""The demo's bench commands, in webview_kit's `webview` group: `bench --site S webview count ...`.

bench merges every app's `commands` by name, so exporting the product's group, with these
added, keeps one `webview` group whichever app bench loads first.
"""

import click
from frappe.commands import pass_context

from webview_kit.cli import on_each_site
from webview_kit.commands import webview


@click.command("install-demo")
@pass_context
def install_demo(context):
	"""Create the demo DocType and make it live (safe to run again)."""

	def work():
		from webview_kit_demo import setup

		setup.install()
		click.echo(f"Demo installed: {setup.DEMO_DOCTYPE} is live")

	on_each_site(context, work)


@click.command("count")
@click.option("--user", required=True, help="Whose webviews receive the count")
@click.option("--upto", default=99, show_default=True)
@click.option("--interval", default=1.0, show_default=True, help="Seconds between values")
@click.option("--repeat", is_flag=True, help="Start again from 0 after each run, until stopped")
@click.option("--enqueue", is_flag=True, help="Run as a background job instead of here")
@click.option("--wait", is_flag=True, help="Start when a line arrives on stdin (to start at an exact moment)")
@click.option("--event", default="webview_kit.count", show_default=True, help="The event name")
@click.option("--stock", is_flag=True, help="Publish with Frappe's publish_realtime instead")
@pass_context
def count(context, user, upto, interval, repeat, enqueue, wait, event, stock):
	"""Publish 0..UPTO to a user's webviews."""

	def work():
		import sys

		from webview_kit.publish import room_head, user_room
		from webview_kit_demo import publishers

		if enqueue:
			click.echo(f"Enqueued job {publishers.enqueue_count(user, upto, interval)}")
			return
		if wait:
			click.echo("ready", err=True)
			sys.stdin.readline()
		head = room_head(user_room(user))["seq"]
		click.echo(f"Publishing count 0..{upto} to {user} every {interval}s after seq {head}", err=True)
		while True:
			publishers.count(user, upto, interval, event=event, stock=stock)
			if not repeat:
				break

	on_each_site(context, work)


@click.command("ensure-user")
@click.option("--email", "emails", required=True, multiple=True)
@click.option("--first-name", default="Webview")
@click.option("--role", "roles", multiple=True)
@click.option("--api-key", is_flag=True, help="Also print a fresh `key:secret` for each user")
@click.option("--password", help="Also set this password (for tests that sign in to Frappe's own pages)")
@pass_context
def ensure_user(context, emails, first_name, roles, api_key, password):
	"""Create enabled website users unless they exist (for demos and tests)."""

	def work():
		from webview_kit_demo import users

		for email in emails:
			name = users.ensure_user(email, first_name, tuple(roles), password=password)
			click.echo(f"{name} {users.new_api_key(name)}" if api_key else name)

	on_each_site(context, work)


@click.command("progress")
@click.option("--user", required=True, help="Whose webviews show the job")
@click.option("--steps", default=5, show_default=True, help="Updates per stage")
@click.option("--interval", default=0.5, show_default=True, help="Seconds between updates")
@click.option("--fail-at", type=click.Choice(["Upload", "Validate", "Import"]), help="Fail in this stage")
@click.option("--enqueue", is_flag=True, help="Run as a background job instead of here")
@pass_context
def progress(context, user, steps, interval, fail_at, enqueue):
	"""Run a pretend three-stage import, publishing its progress to USER's webviews."""

	def work():
		from webview_kit_demo import publishers

		run = publishers.enqueue_progress if enqueue else publishers.progress
		click.echo(run(user, steps, interval, fail_at))

	on_each_site(context, work)


@click.command("task")
@click.option("--user", "users", required=True, multiple=True, help="Share the task with this user")
@click.option("--title", default="Check the delivery", show_default=True)
@pass_context
def task(context, users, title):
	"""Create a demo task shared with each USER and print its name."""

	def work():
		from webview_kit_demo import publishers

		click.echo(publishers.create_task(title, list(users)))

	on_each_site(context, work)


@click.command("tasks")
@click.option("--user", required=True, help="Whose task list changes")
@click.option("--rounds", default=20, show_default=True)
@click.option("--interval", default=2.0, show_default=True, help="Seconds between changes")
@pass_context
def tasks(context, user, rounds, interval):
	"""Add, change and remove demo tasks shared with USER, one change per interval."""

	def work():
		from webview_kit_demo import publishers

		publishers.tasks(user, rounds, interval)

	on_each_site(context, work)


@click.command("order")
@click.option("--user", required=True, help="Who may open the order (it is shared with them)")
@click.option("--customer", default="Café Lumen", show_default=True)
@click.option("--interval", default=1.5, show_default=True, help="Seconds between steps")
@click.option("--enqueue", is_flag=True, help="Run the delivery as a background job and return at once")
@pass_context
def order(context, user, customer, interval, enqueue):
	"""Create a demo order shared with USER, print its name, and deliver it step by step."""

	def work():
		import frappe

		from webview_kit_demo import orders

		name = orders.create(customer, user)
		click.echo(name)
		if enqueue:
			frappe.enqueue(orders.run, queue="short", name=name, interval=interval, timeout=120)
		else:
			orders.run(name, interval)
			frappe.db.commit()

	on_each_site(context, work)


DEMO_COMMANDS = [install_demo, count, ensure_user, progress, task, tasks, order]
for command in DEMO_COMMANDS:
	webview.add_command(command)
commands = [webview]
