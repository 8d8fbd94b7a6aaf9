"""Helpers only webview_kit's tests use; installed on the test stack's site only, never imported by the product."""

__version__ = "0.1.0"
