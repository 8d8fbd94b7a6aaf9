"""The demo, beside the product: a Frappe app of its own, installed by `make up` and the tests.

`bench --site S install-app webview_kit_demo` (after webview_kit) creates the *Webview Demo
Task* and *Webview Demo Order* DocTypes (custom DocTypes of the demo's module), makes the
task live in *Webview Settings* under a small Workflow; `bench --site S webview
install-demo` does it again and is safe to repeat. The publishers (`count`, `progress`,
`tasks`, `order`) and the users the demo and the tests need live here too.
"""

__version__ = "0.1.0"
