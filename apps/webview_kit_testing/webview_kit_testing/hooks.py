app_name = "webview_kit_testing"
app_title = "Webview Kit Testing"
app_publisher = "webview_kit developers"
app_description = "Test-only helpers of webview_kit's test stack; never install it on a real site"
app_email = "dev@webview-kit.invalid"
app_license = "mit"

# The test-only actions (a comment that sleeps in its transaction): resolvable only on a site
# that has this app installed, which only the test stack does (stack/bench.py)
webview_actions = ["webview_kit_testing.actions"]
