"""`bench --site S webview ...`: issue and revoke deep links, forget rooms.

Other apps (the demo) add their commands to this group.

Imports of the app happen inside the commands, as in Frappe's own: `bench` loads every
app's commands at start, and should not pay for what it does not run.
"""

import click
from frappe.commands import pass_context

from webview_kit.cli import on_each_site


@click.group("webview")
def webview():
	"""Live webviews for mobile apps."""


@webview.command("link")
@click.option("--user", required=True)
@click.option("--route", default="/webview/count", show_default=True)
@click.option("--ttl", type=int, help="Seconds the link stays valid (capped by Webview Settings)")
@click.option("--qr", is_flag=True, help="Also print a QR code for a phone")
@pass_context
def link(context, user, route, ttl, qr):
	"""Print a single-use deep link that signs USER in to ROUTE."""

	def work():
		import frappe

		from webview_kit import auth

		frappe.set_user("Administrator")
		url = auth.issue_link(user, route, ttl=ttl, issuer="Administrator (bench)")["url"]
		frappe.db.commit()
		click.echo(url)
		if qr:
			import segno

			segno.make(url).terminal(compact=True)

	on_each_site(context, work)


@webview.command("revoke")
@click.option("--user", required=True)
@pass_context
def revoke(context, user):
	"""End every webview session of USER, void their unused links, and tell their open pages."""

	def work():
		from webview_kit import auth

		click.echo(f"Ended {auth.revoke(user)} webview session(s) of {user}")

	on_each_site(context, work)


@webview.command("forget")
@click.option("--user", "users", required=True, multiple=True)
@pass_context
def forget(context, users):
	"""Delete the webview history of USERs' rooms, as expiry would (open pages resync)."""

	def work():
		from webview_kit.publish import forget, user_room

		for user in users:
			click.echo(f"{user}: {'forgotten' if forget(user_room(user)) else 'nothing to forget'}")

	on_each_site(context, work)


commands = [webview]
