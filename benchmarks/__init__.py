"""webview_kit against stock Frappe realtime, side by side in one run (`make benchmark`)."""
