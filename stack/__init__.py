"""Bring the webview_kit stack up from this checkout: `python -m stack up`."""
