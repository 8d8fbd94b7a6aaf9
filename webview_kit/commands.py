"""`bench --site S webview ...`: publish the demo count, issue and revoke deep links."""

import click
from frappe.commands import get_site, pass_context


def _connect(context) -> None:
	import frappe

	frappe.init(site=get_site(context))
	frappe.connect()


@click.group("webview")
def webview():
	"""Live webviews for mobile apps."""


@webview.command("count")
@click.option("--user", required=True, help="Whose webviews receive the count")
@click.option("--upto", default=99, show_default=True)
@click.option("--interval", default=1.0, show_default=True, help="Seconds between values")
@click.option("--repeat", is_flag=True, help="Start again from 0 after each run, until stopped")
@click.option("--enqueue", is_flag=True, help="Run as a background job instead of here")
@click.option("--wait", is_flag=True, help="Start when a line arrives on stdin (to start at an exact moment)")
@pass_context
def count(context, user, upto, interval, repeat, enqueue, wait):
	"""Publish 0..UPTO to a user's webviews."""
	import sys

	from webview_kit import demo

	_connect(context)
	if enqueue:
		click.echo(f"Enqueued job {demo.enqueue_count(user, upto, interval)}")
		return
	if wait:
		click.echo("ready", err=True)
		sys.stdin.readline()
	from webview_kit.publish import room_head, user_room

	head = room_head(user_room(user))["seq"]
	click.echo(f"Publishing count 0..{upto} to {user} every {interval}s after seq {head}", err=True)
	while True:
		demo.count(user, upto, interval)
		if not repeat:
			break


@webview.command("link")
@click.option("--user", required=True)
@click.option("--route", default="/webview/count", show_default=True)
@click.option("--ttl", type=int, help="Seconds the link stays valid (capped by webview_link_max_ttl)")
@click.option("--qr", is_flag=True, help="Also print a QR code for a phone")
@pass_context
def link(context, user, route, ttl, qr):
	"""Print a single-use deep link that signs USER in to ROUTE."""
	import frappe

	from webview_kit import auth

	_connect(context)
	frappe.set_user("Administrator")
	url = auth.issue_link(user, route, ttl=ttl, issuer="Administrator (bench)")["url"]
	frappe.db.commit()
	click.echo(url)
	if qr:
		import segno

		segno.make(url).terminal(compact=True)


@webview.command("revoke")
@click.option("--user", required=True)
@pass_context
def revoke(context, user):
	"""End every webview session of USER and tell their open pages."""
	from webview_kit import auth

	_connect(context)
	click.echo(f"Ended {auth.revoke(user)} webview session(s) of {user}")


@webview.command("forget")
@click.option("--user", "users", required=True, multiple=True)
@pass_context
def forget(context, users):
	"""Delete the webview history of USERs' rooms, as expiry would (open pages resync)."""
	from webview_kit.publish import forget, user_room

	_connect(context)
	for user in users:
		click.echo(f"{user}: {'forgotten' if forget(user_room(user)) else 'nothing to forget'}")


@webview.command("ensure-user")
@click.option("--email", "emails", required=True, multiple=True)
@click.option("--first-name", default="Webview")
@click.option("--role", "roles", multiple=True)
@click.option("--api-key", is_flag=True, help="Also print a fresh `key:secret` for each user")
@pass_context
def ensure_user(context, emails, first_name, roles, api_key):
	"""Create enabled website users unless they exist (for demos and tests)."""
	from webview_kit import demo

	_connect(context)
	for email in emails:
		name = demo.ensure_user(email, first_name, tuple(roles))
		click.echo(f"{name} {demo.new_api_key(name)}" if api_key else name)


@webview.command("progress")
@click.option("--user", required=True, help="Whose webviews show the job")
@click.option("--steps", default=5, show_default=True, help="Updates per stage")
@click.option("--interval", default=0.5, show_default=True, help="Seconds between updates")
@click.option("--fail-at", type=click.Choice(["Upload", "Validate", "Import"]), help="Fail in this stage")
@click.option("--enqueue", is_flag=True, help="Run as a background job instead of here")
@pass_context
def progress(context, user, steps, interval, fail_at, enqueue):
	"""Run a pretend three-stage import, publishing its progress to USER's webviews."""
	from webview_kit import demo

	_connect(context)
	if enqueue:
		click.echo(demo.enqueue_progress(user, steps, interval, fail_at))
		return
	click.echo(demo.progress(user, steps, interval, fail_at))


@webview.command("task")
@click.option("--user", "users", required=True, multiple=True, help="Share the task with this user")
@click.option("--title", default="Check the delivery", show_default=True)
@pass_context
def task(context, users, title):
	"""Create a demo task shared with each USER and print its name."""
	from webview_kit import demo

	_connect(context)
	click.echo(demo.create_task(title, list(users)))


@webview.command("tasks")
@click.option("--user", required=True, help="Whose task list changes")
@click.option("--rounds", default=20, show_default=True)
@click.option("--interval", default=2.0, show_default=True, help="Seconds between changes")
@pass_context
def tasks(context, user, rounds, interval):
	"""Add, change and remove demo tasks shared with USER, one change per interval."""
	from webview_kit import demo

	_connect(context)
	demo.tasks(user, rounds, interval)


commands = [webview]
