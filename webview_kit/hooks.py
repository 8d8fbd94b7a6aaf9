app_name = "webview_kit"
app_title = "Webview Kit"
app_publisher = "webview_kit developers"
app_description = "Live, token-signed Frappe webviews for mobile apps"
app_email = "dev@webview-kit.invalid"
app_license = "mit"

# Deep links: redeem `?wvt=<token>` on /webview/* before the page renders
page_renderer = ["webview_kit.renderer.WebviewLinkPage"]

# Sessions made by a deep link reach only their page
before_request = ["webview_kit.auth.enforce_session_scope"]

# What a deep-link session may call besides its page: our page API, the socket
# server's auth and subscribe callbacks, ping and logout. Apps may extend this.
webview_allowed_methods = [
	"webview_kit.api.catch_up",
	"frappe.realtime.get_user_info",
	"frappe.realtime.can_subscribe_doc",
	"frappe.realtime.can_subscribe_doctype",
	"frappe.auth.get_logged_user",
	"ping",
	"logout",
	# the templates: presence leases, a live list's fresh start after lost history
	"webview_kit.api.presence_join",
	"webview_kit.api.presence_leave",
	"webview_kit.api.list_rows",
]

# Live documents: saves, deletes and shares of these DocTypes reach document pages
# (doc rooms) and live lists (their users' rooms); see webview_kit/live.py
webview_live_doctypes = ["Webview Demo Task"]
doc_events = {
	"*": {
		"on_change": "webview_kit.live.on_change",
		"on_trash": "webview_kit.live.on_trash",
		"after_delete": "webview_kit.live.after_delete",
	}
}

# Deep-link claims and the sessions they started are state, not cache: keep them
# through frappe.clear_cache() (saving a User, `bench migrate`, `bench clear-cache`)
persistent_cache_keys = ["webview_kit:*"]

# Setup
after_install = "webview_kit.install.after_install"
after_migrate = "webview_kit.install.after_install"
