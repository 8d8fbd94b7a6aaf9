// The page's script and stylesheet came inline (webview_kit/shell.py). Once the page is
// live, fetch them into the HTTP cache and name their build in a cookie: the server then
// links them in later pages, which load them from the cache without a request.
export function cacheShell(shell) {
	if (!shell) return;
	const cache = async () => {
		const responses = await Promise.all(shell.assets.map((url) => fetch(url, { credentials: "same-origin" })));
		if (!responses.every((response) => response.ok)) return;
		await Promise.all(responses.map((response) => response.arrayBuffer()));
		document.cookie = `${shell.cookie}=${shell.build}; path=/; max-age=31536000; samesite=lax`;
	};
	const onState = ({ detail }) => {
		if (detail.state !== "live") return;
		document.removeEventListener("webviewkit:state", onState);
		cache().catch(() => {}); // not cached: the next page inlines them again
	};
	document.addEventListener("webviewkit:state", onState);
}
