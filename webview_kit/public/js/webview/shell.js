// The page's script and stylesheet came inline (webview_kit/shell.py). Once the page is
// live, fetch them into the HTTP cache and name their build in a cookie: the server then
// links them in later pages, which load them from the cache without a request.
export function cacheShell(shell) {
	if (!shell) return;
	const cache = async () => {
		await Promise.all(shell.assets.map(preload));
		document.cookie = `${shell.cookie}=${shell.build}; path=/; max-age=31536000; samesite=lax`;
	};
	const onState = ({ detail }) => {
		if (detail.state !== "live") return;
		document.removeEventListener("webviewkit:state", onState);
		cache().catch(() => {}); // not cached: the next page inlines them again
	};
	document.addEventListener("webviewkit:state", onState);
}

// Fetched as what the next page loads it as, a script or a stylesheet: WebKit serves a
// <script> from its memory cache only if it was fetched as a script, not by fetch().
function preload(url) {
	return new Promise((resolve, reject) => {
		const link = Object.assign(document.createElement("link"), { rel: "preload", href: url });
		link.as = url.endsWith(".css") ? "style" : "script";
		link.onload = resolve;
		link.onerror = reject;
		document.head.append(link);
	});
}
