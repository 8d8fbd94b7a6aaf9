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
@click.option(
	"--param",
	"params",
	multiple=True,
	callback=lambda _ctx, _option, pairs: named_values(pairs),
	help="A parameter of the page, as NAME=VALUE (again for each one): --param name=SO-0001",
)
@click.option("--ttl", type=int, help="Seconds the link stays valid (capped by Webview Settings)")
@click.option("--qr", is_flag=True, help="Also print a QR code for a phone")
@pass_context
def link(context, user, route, params, ttl, qr):
	"""Print a single-use deep link that signs USER in to ROUTE with its parameters."""

	def work():
		import frappe

		from webview_kit import auth

		frappe.set_user("Administrator")
		try:
			url = auth.issue_link(user, route, params, ttl=ttl, issuer="Administrator (bench)")["url"]
		except (frappe.ValidationError, frappe.PermissionError) as refusal:
			raise click.ClickException(str(refusal)) from None
		frappe.db.commit()
		click.echo(url)
		if qr:
			import segno

			segno.make(url).terminal(compact=True)

	on_each_site(context, work)


def named_values(pairs: tuple[str, ...]) -> dict[str, str]:
	"""`("name=SO-1", ...)` as `{"name": "SO-1"}`; a pair without `=`, or a name given twice, is refused."""
	values = {}
	for pair in pairs:
		name, equals, value = pair.partition("=")
		if not equals or not name:
			raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--param")
		if name in values:
			raise click.BadParameter(f"{name!r} is given twice", param_hint="--param")
		values[name] = value
	return values


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
