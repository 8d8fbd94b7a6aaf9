// `__(text, args)`: Frappe's page-side translation function, for the webview pages.
//
// Frappe's own `__` ships in its desk and web bundles, which webview pages do not load; as
// Frappe's web forms do, the page's config carries the translations of the messages its
// scripts use (page.py, MESSAGES), in the session user's language. `{0}`, `{1}`... are
// replaced by `args`, as in Frappe.
let messages = {};

export function setMessages(translated) {
	messages = translated || {};
}

export function __(text, args = []) {
	// On Frappe's own web pages (realtime_pages.bundle.js) a web form may have set frappe._messages.
	const translated = messages[text] || globalThis.frappe?._messages?.[text] || text;
	return translated.replace(/\{(\d+)\}/g, (match, i) => (args[i] !== undefined ? String(args[i]) : match));
}
