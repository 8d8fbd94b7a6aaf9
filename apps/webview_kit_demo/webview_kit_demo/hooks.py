app_name = "webview_kit_demo"
app_title = "Webview Kit Demo"
app_publisher = "webview_kit developers"
app_description = "The webview_kit demo: a live task, a delivery order, publishers and bench commands"
app_email = "dev@webview-kit.invalid"
app_license = "mit"

# Actions of the demo's pages: webview_kit resolves action names only in modules an installed
# app lists here (webview_kit/actions.py)
webview_actions = ["webview_kit_demo.orders"]

# Live fragments of the demo order (webview_kit_demo/orders.py, /webview/order)
webview_fragments = {
	"webview_demo.order_status": {
		"template": "webview_kit_demo/templates/order_status.html",
		"doctype": "Webview Demo Order",
	},
	"webview_demo.order_lines": {
		"template": "webview_kit_demo/templates/order_lines.html",
		"doctype": "Webview Demo Order",
	},
	"webview_demo.order_totals": {
		"template": "webview_kit_demo/templates/order_totals.html",
		"doctype": "Webview Demo Order",
	},
	"webview_demo.order_timeline": {
		"template": "webview_kit_demo/templates/order_timeline.html",
		"item": "webview_kit_demo/templates/order_event.html",
	},
}

# Setup: the demo DocTypes, made live, with their Workflow (safe to run again). Not
# `required_apps`: Frappe resolves those names on GitHub, and webview_kit is not there.
before_install = "webview_kit_demo.setup.check_product"
after_install = "webview_kit_demo.setup.install"
after_migrate = "webview_kit_demo.setup.install"
