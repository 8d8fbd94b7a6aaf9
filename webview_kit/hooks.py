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
]

# Setup
after_install = "webview_kit.install.after_install"
after_migrate = "webview_kit.install.after_install"
