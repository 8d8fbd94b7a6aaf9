// A Socket.IO v4 client for one namespace over a browser WebSocket: the part of
// socket.io-client (about 12 KB gzipped) that webview pages use, in about 1 KB.
//
// It speaks Engine.IO v4 (handshake, ping/pong, ping timeout) and Socket.IO v4 text
// packets (CONNECT, DISCONNECT, EVENT, CONNECT_ERROR), and keeps socket.io-client's
// semantics where realtime.js relies on them: `active`, `connected`, the `connect`,
// `disconnect(reason)` and `connect_error(error)` events, `onAny`, reconnection with a
// jittered exponential backoff, and no automatic retry after the server refused the
// namespace (CONNECT_ERROR) or disconnected us ("io server disconnect").
//
// Its first connection adopts the WebSocket the page's first line opened while the
// document was still arriving (webview_kit/shell.py), with what the server sent on it.
//
// Left out on purpose, because pages never need them: HTTP long-polling and transport
// upgrades, binary packets, acknowledgements, several namespaces over one connection,
// and buffering emits while disconnected (an emit then is dropped: realtime.js joins its
// rooms again on every connect, so a buffered join would only be sent twice).

// Engine.IO packet types, then Socket.IO's (carried in Engine.IO MESSAGE packets).
const OPEN = "0", CLOSE = "1", PING = "2", PONG = "3", MESSAGE = "4";
const CONNECT = "0", DISCONNECT = "1", EVENT = "2", CONNECT_ERROR = "4";
// type, namespace (absent for "/"), ack id, JSON payload
const PACKET = /^(\d)(?:(\/[^,]*),)?\d*([\s\S]*)$/;

/** The WebSocket the page's first script opened (webview_kit/shell.py), if it is still good. */
function adoptEarlySocket(url) {
	const early = window.wvkEarlySocket;
	window.wvkEarlySocket = null;
	if (!early || early.ws.url !== url || early.received.closed) {
		if (early) early.ws.close();
		return null;
	}
	return early;
}

/** Open a socket to `namespace` (e.g. "/site1.local") on this page's origin. */
export function connect(namespace, options) {
	return new Socket(namespace, options).connect();
}

export class Socket {
	constructor(
		namespace,
		{ path = "/socket.io", reconnectionDelay = 1000, reconnectionDelayMax = 5000, timeout = 20000 } = {},
	) {
		this.nsp = namespace;
		this.prefix = namespace === "/" ? "" : `${namespace},`;
		this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}/?EIO=4&transport=websocket`;
		Object.assign(this, { reconnectionDelay, reconnectionDelayMax, timeout });
		this.listeners = {};
		this.anyListeners = [];
		this.active = false; // we mean to be connected: retrying after a lost connection
		this.connected = false; // the namespace accepted us
		this.attempts = 0;
		// The only timer, since at most one runs at a time: the handshake timeout, then the
		// ping timeout, and between connections the reconnection delay.
		this.timer = 0;
		// A phone losing its network may keep a dead WebSocket open for minutes; engine.io-client
		// closes on `offline` too.
		addEventListener("offline", () => this.ws && this.drop("transport close"));
	}

	on(event, listener) {
		(this.listeners[event] ||= []).push(listener);
		return this;
	}

	onAny(listener) {
		this.anyListeners.push(listener);
		return this;
	}

	/** Send an event; dropped unless connected (see above). */
	emit(event, ...args) {
		if (this.connected) this.ws.send(MESSAGE + EVENT + this.prefix + JSON.stringify([event, ...args]));
		return this;
	}

	connect() {
		if (!this.active) {
			this.active = true;
			this.open();
		}
		return this;
	}

	disconnect() {
		const wasConnected = this.connected;
		// Tell the server, so it does not keep our rooms until a ping timeout.
		if (wasConnected) this.ws.send(MESSAGE + DISCONNECT + this.prefix);
		this.active = false;
		this.close();
		if (wasConnected) this.fire("disconnect", "io client disconnect");
		return this;
	}

	// -- the connection ----------------------------------------------------------
	open() {
		this.close();
		const early = adoptEarlySocket(this.url);
		const ws = (this.ws = early?.ws || new WebSocket(this.url));
		ws.onmessage = (message) => this.receive(message.data);
		// A browser always follows `error` with `close`, and says nothing more in either.
		ws.onclose = () => this.drop(this.opened ? "transport close" : "websocket error");
		this.watch(this.timeout, "timeout");
		for (const data of early?.received || []) if (this.ws === ws) this.receive(data);
	}

	close() {
		clearTimeout(this.timer);
		this.connected = this.opened = false;
		if (!this.ws) return;
		this.ws.onmessage = this.ws.onclose = null; // a closing socket's last words are not ours to act on
		this.ws.close();
		this.ws = null;
	}

	/** The connection is gone: say so, and try again unless told to stop. */
	drop(reason) {
		const wasConnected = this.connected;
		this.close();
		// Scheduled before the listeners run, so that one calling disconnect() cancels it.
		if (this.active) this.timer = setTimeout(() => this.open(), this.delay());
		if (wasConnected) this.fire("disconnect", reason);
		else this.fire("connect_error", new Error(reason));
	}

	/** socket.io-client's backoff: doubling from reconnectionDelay, ±50% jitter, capped. */
	delay() {
		const base = this.reconnectionDelay * 2 ** this.attempts++;
		return Math.min(base * (0.5 + Math.random()), this.reconnectionDelayMax);
	}

	/** Drop the connection with `reason` unless the server says something within `ms`. */
	watch(ms, reason) {
		clearTimeout(this.timer);
		this.timer = setTimeout(() => this.drop(reason), ms);
	}

	// -- what the server sends -----------------------------------------------------
	receive(data) {
		const type = data[0];
		if (type === OPEN) {
			const { pingInterval, pingTimeout } = JSON.parse(data.slice(1));
			this.opened = true;
			this.pingWindow = pingInterval + pingTimeout;
			this.ws.send(MESSAGE + CONNECT + this.prefix);
		}
		// The server pings every pingInterval and allows pingTimeout for the answer; any
		// packet shows it is alive. A frozen server or a dead network path sends nothing.
		if (this.opened) this.watch(this.pingWindow, "ping timeout");
		if (type === PING) this.ws.send(PONG);
		else if (type === CLOSE) this.drop("transport close");
		else if (type === MESSAGE) this.packet(data.slice(1));
	}

	packet(text) {
		const [, type, nsp = "/", json] = PACKET.exec(text) || [];
		if (nsp !== this.nsp) return; // binary packets (types 5, 6) end up here too: none are sent to us
		let payload;
		try {
			payload = json ? JSON.parse(json) : undefined;
		} catch {
			return this.drop("parse error");
		}
		if (type === CONNECT) {
			this.connected = true;
			this.id = payload?.sid;
			this.attempts = 0;
			this.fire("connect");
		} else if (type === EVENT && Array.isArray(payload)) {
			for (const listener of this.anyListeners) listener(...payload);
			this.fire(...payload);
		} else if (type === DISCONNECT || type === CONNECT_ERROR) {
			// Either way the server decided: socket.io-client stops retrying and leaves it to the app.
			const wasConnected = this.connected;
			this.active = false;
			this.close();
			if (type === CONNECT_ERROR) {
				this.fire("connect_error", Object.assign(new Error(payload?.message), { data: payload?.data }));
			} else if (wasConnected) this.fire("disconnect", "io server disconnect");
		}
	}

	fire(event, ...args) {
		for (const listener of this.listeners[event] || []) listener(...args);
	}
}
