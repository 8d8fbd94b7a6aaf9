app_name = "webview_kit"
app_title = "Webview Kit"
app_publisher = "webview_kit developers"
app_description = "Live, token-signed Frappe webviews for mobile apps"
app_email = "dev@webview-kit.invalid"
app_license = "mit"

# Deep links: redeem `?wvt=<token>` on /webview/* before the page renders
page_renderer = ["webview_kit.renderer.WebviewLinkPage"]

# Sessions made by a deep link reach only their page and its rooms (webview_kit/scope.py);
# webview pages carry a strict content security policy and are never cached
before_request = ["webview_kit.scope.enforce", "webview_kit.web_pages.skip_page_cache"]
after_request = ["webview_kit.renderer.secure_headers"]

# Opt-in: frappe.realtime.on that works on Frappe's own web pages, with catch-up (web_pages.py)
update_website_context = ["webview_kit.web_pages.update_website_context"]

# The socket server asks these before joining a document or DocType room (v15 the first
# two, v16 `has_permission`): deep-link sessions get only their page's rooms
# (webview_kit/api.py), other sessions Frappe's answer
override_whitelisted_methods = {
	"frappe.realtime.can_subscribe_doc": "webview_kit.api.can_subscribe_doc",
	"frappe.realtime.can_subscribe_doctype": "webview_kit.api.can_subscribe_doctype",
	"frappe.realtime.has_permission": "webview_kit.api.has_permission",
}

# What a deep-link session may call besides its page: our page API, the socket
# server's auth and subscribe callbacks, ping and logout. Apps may extend this.
webview_allowed_methods = [
	"webview_kit.api.catch_up",
	"frappe.realtime.get_user_info",
	"frappe.realtime.can_subscribe_doc",
	"frappe.realtime.can_subscribe_doctype",
	"frappe.realtime.has_permission",
	"frappe.auth.get_logged_user",
	"ping",
	"logout",
	# the templates: presence leases
	"webview_kit.api.presence_join",
	"webview_kit.api.presence_leave",
	# actions: each one checks its own page route and rooms (webview_kit/actions.py)
	"webview_kit.api.act",
]

# Live documents: saves, deletes and shares of the DocTypes listed in Webview Settings
# (or in an app's `webview_live_doctypes` hook) reach document pages and live lists;
# deleted and renamed documents' rooms are forgotten. See webview_kit/live.py
doc_events = {
	"*": {
		"on_change": "webview_kit.live.on_change",
		"on_trash": "webview_kit.live.on_trash",
		"after_delete": "webview_kit.live.after_delete",
		"after_rename": "webview_kit.live.after_rename",
	}
}

# End deep-link sessions past their lifetime even when nobody uses them again
# and forget action outcomes past their window (Webview Settings)
scheduler_events = {
	"hourly": [
		"webview_kit.auth.prune_sessions",
		"webview_kit.auth.prune_revoke_marks",
		"webview_kit.actions.prune_outcomes",
	]
}

# Deep-link claims and the sessions they started are state, not cache: keep them
# through frappe.clear_cache() (saving a User, `bench migrate`, `bench clear-cache`)
persistent_cache_keys = ["webview_kit:*"]

# Actions (webview_kit/actions.py): a page may run the marked functions of the modules
# installed apps list here, and of no other module
webview_actions = ["webview_kit.workflow"]

# Live fragments (webview_kit/fragments.py): pieces of pages the server renders and pushes.
# `webview_fragment(target, **context)` renders one in a page's first render.
webview_fragments = {
	"webview_kit.list_rows": {
		"template": "webview_kit/templates/webview/fragments/list_rows.html",
		"item": "webview_kit/templates/webview/fragments/list_row.html",
	},
}
jinja = {"methods": ["webview_kit.fragments.webview_fragment"]}

# Setup
after_install = "webview_kit.install.after_install"
after_migrate = "webview_kit.install.after_install"
