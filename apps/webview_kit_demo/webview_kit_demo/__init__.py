"""The demo, beside the product: installed by `make up` and the tests, never by `install-app`.

`bench --site S webview install-demo` creates the *Webview Demo Task* DocType (a custom
DocType, so no module file of the app carries it), makes it live in *Webview Settings*,
and is safe to run again. The publishers (`count`, `progress`, `tasks`) and the users the
demo and the tests need live here too.
"""
