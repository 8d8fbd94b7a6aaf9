// The page's side of the bridge to the app hosting the WebView.
//
// One message shape both ways: {type, payload}. The page sends `ready` (rendered),
// `realtime` ({state}) on every connection change, `close`, `navigate` ({url, route,
// params}) and any custom type; it posts them to whichever host is there:
//   iOS WKWebView         window.webkit.messageHandlers.webviewKit.postMessage(object)
//   Android WebView       window.WebviewKitAndroid.postMessage(json)  (addJavascriptInterface)
//   React Native WebView  window.ReactNativeWebView.postMessage(json)
// In a plain browser there is no host: send() does nothing and returns false, and
// links marked data-bridge="navigate" are followed as ordinary links in a desk session
// (a deep-link session, which reaches its own page only, does not follow them).
//
// The app sends commands by calling webviewKit.bridge.receive({type, payload, id})
// (evaluateJavaScript / evaluateJavascript / injectJavaScript), or, from React Native,
// with webView.postMessage(json). Built in: `reconnect`, `reload`, `theme`
// ({scheme: "light"|"dark"|"system"}); pages add their own with bridge.on(type, fn).
// A command with an `id` is answered with {type: "reply", payload: {id, ok, result|error}}.

const HOSTS = [
	["ios", () => window.webkit?.messageHandlers?.webviewKit, (host, message) => host.postMessage(message)],
	["android", () => window.WebviewKitAndroid, (host, message) => host.postMessage(JSON.stringify(message))],
	["react-native", () => window.ReactNativeWebView, (host, message) => host.postMessage(JSON.stringify(message))],
];

export class Bridge {
	constructor(kit) {
		this.kit = kit;
		this.handlers = new Map();
		this.on("reconnect", () => kit.reconnectNow());
		this.on("reload", () => location.reload());
		this.on("theme", ({ scheme } = {}) => setTheme(scheme));
		// React Native delivers webView.postMessage() as a message event: on window
		// under iOS, on document under Android. Other frames' messages are not ours.
		const fromHost = (event) => (!event.source || event.source === window) && this.receive(event.data);
		addEventListener("message", fromHost);
		document.addEventListener("message", fromHost);
		document.addEventListener("click", (event) => this.onClick(event));
		document.addEventListener("webviewkit:state", (event) => this.send("realtime", event.detail));
		// Lets CSS show controls that only make sense inside an app, such as "Done".
		if (this.host !== "browser") document.documentElement.dataset.host = this.host;
	}

	/** The host's name: "ios", "android", "react-native", or "browser" when there is none. */
	get host() {
		return HOSTS.find(([, find]) => find())?.[0] || "browser";
	}

	/** Post {type, payload} to the host; false when there is no host to post to. */
	send(type, payload = {}) {
		for (const [, find, post] of HOSTS) {
			const host = find();
			if (host) return post(host, { type, payload }), true;
		}
		return false;
	}

	ready() {
		return this.send("ready", { route: location.pathname, title: document.title, realtime: this.kit.state });
	}

	close() {
		return this.send("close");
	}

	/** Ask the app to open `url` (it may get a fresh deep link for it, or show a native screen). */
	navigate(url, payload = {}) {
		const target = new URL(url, location.href);
		return this.send("navigate", {
			url: target.href,
			route: target.pathname,
			params: Object.fromEntries(target.searchParams),
			...payload,
		});
	}

	on(type, handler) {
		this.handlers.set(type, handler);
	}

	/** Handle a command from the host: an object, or its JSON. */
	async receive(command) {
		if (typeof command === "string") {
			try {
				command = JSON.parse(command);
			} catch {
				return;
			}
		}
		if (!command || typeof command.type !== "string") return;
		const handler = this.handlers.get(command.type);
		let reply;
		try {
			if (!handler) throw new Error(`no handler for ${command.type}`);
			reply = { ok: true, result: (await handler(command.payload ?? {}, command)) ?? null };
		} catch (error) {
			reply = { ok: false, error: String(error.message || error) };
		}
		if (command.id != null) this.send("reply", { id: command.id, ...reply });
	}

	onClick(event) {
		const el = event.target.closest?.("[data-bridge]");
		if (!el) return;
		const type = el.dataset.bridge;
		const sent =
			type === "navigate"
				? this.navigate(el.href || el.dataset.url)
				: this.send(type, el.dataset.payload ? JSON.parse(el.dataset.payload) : {});
		// A deep-link session reaches its own page only: with no app to ask for a link to
		// another page, following one would only be refused, so it stays where it is.
		if (sent || (type === "navigate" && this.kit.config.scoped)) event.preventDefault();
	}
}

function setTheme(scheme) {
	const root = document.documentElement;
	if (scheme === "light" || scheme === "dark") root.dataset.theme = scheme;
	else delete root.dataset.theme;
	return root.dataset.theme || "system";
}
