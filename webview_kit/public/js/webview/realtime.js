// One socket per page, with ordered catch-up: what makes a webview's state complete.
//
// The page renders with each room's sequence number. On every (re)connect we fetch
// what the room published after the last sequence we applied, apply it in order,
// then apply live events that arrived meanwhile; duplicates are dropped by sequence.
// Handlers live in our own map, so nothing depends on the order scripts run in.
//
// The page's state is on <body data-realtime="connecting|live|reconnecting|offline|ended">;
// each change is also a `webviewkit:state` event on document ({detail: {state}}), and
// a lost stretch of history (the page shows the latest state instead) a `webviewkit:resync`.
// The socket comes from the caller: the webview shell opens its own (webview.bundle.js), and
// the include for Frappe's web pages (realtime_pages.bundle.js) hands over Frappe's.

const CATCH_UP = "/api/method/webview_kit.api.catch_up";
const APPLIED_KEPT = 10000;

const BANNERS = {
	connecting: "Connecting…",
	reconnecting: "Reconnecting…",
	offline: "You are offline. Updates resume when you are back.",
	ended: "This session has ended. Open the link from the app again.",
};

class Room {
	constructor(name, { seq, epoch, subscribe }) {
		this.name = name;
		this.seq = seq;
		this.epoch = epoch;
		this.subscribe = subscribe; // [socket event, ...args] that joins it, from the server
		this.syncing = null;
		this.buffer = [];
	}
}

export class WebviewKit {
	constructor(config) {
		this.config = config;
		this.events = config.events; // event names by the short names the page's scripts use
		this.handlers = new Map();
		// [room, seq] of the applied events, in order (what tests read): the newest APPLIED_KEPT,
		// so a page left open for days holds a bounded record.
		this.applied = [];
		this.initial = Object.fromEntries(Object.entries(config.rooms).map(([name, pos]) => [name, pos.seq]));
		this.resyncs = 0;
		this.rooms = new Map(Object.entries(config.rooms).map(([name, pos]) => [name, new Room(name, pos)]));
		if (config.catch_up === "socket") this.catchUpOnTheSocket();
	}

	/** Follow the page's rooms over `socket` (a socket.io client socket of the site's namespace). */
	start(socket) {
		this.socket = socket;
		this.socket.on("connect", () => this.onConnect());
		this.socket.on("disconnect", (reason) => this.onDisconnect(reason));
		this.socket.on("connect_error", () => this.onConnectError());
		this.socket.onAny((event, envelope) => this.receive(event, envelope));
		addEventListener("offline", () => this.setState("offline"));
		addEventListener("online", () => this.reconnectNow());
		document.addEventListener("visibilitychange", () => document.hidden || this.reconnectNow());
	}

	/** Call `handler(data, envelope)` for each applied `event` ("*": every event). */
	on(event, handler) {
		if (!this.handlers.has(event)) this.handlers.set(event, []);
		this.handlers.get(event).push(handler);
	}

	get state() {
		return document.body.dataset.realtime;
	}

	setState(state, message = "") {
		if (this.state === "ended") return;
		const changed = this.state !== state;
		document.body.dataset.realtime = state;
		const banner = document.querySelector(".wvk-banner");
		if (banner) banner.textContent = message || BANNERS[state] || "";
		if (changed) signal("state", { state });
	}

	// -- calls to the server ---------------------------------------------------
	/** POST a whitelisted method with the session's CSRF token; resolves to `message`. */
	async call(method, args = {}, { keepalive = false } = {}) {
		const response = await fetch(`/api/method/${method}`, {
			method: "POST",
			credentials: "same-origin",
			keepalive,
			headers: {
				Accept: "application/json",
				"Content-Type": "application/json",
				"X-Frappe-CSRF-Token": this.config.csrf_token,
			},
			body: JSON.stringify(args),
		});
		return answer(response);
	}

	/** GET a whitelisted method; resolves to `message`. */
	async get(method, params = {}) {
		const query = new URLSearchParams(params);
		const response = await fetch(`/api/method/${method}?${query}`, { credentials: "same-origin" });
		return answer(response);
	}

	// -- connection -----------------------------------------------------------
	async onConnect() {
		if (!this.everConnected) performance.mark("webviewkit:connected"); // the benchmark's phases
		this.setState(this.everConnected ? "reconnecting" : "connecting");
		this.everConnected = true;
		this.retryDelay = 250;
		for (const room of this.rooms.values()) if (room.subscribe) this.socket.emit(...room.subscribe);
		try {
			await Promise.all([...this.rooms.values()].map((room) => this.sync(room)));
			if (!this.socket.connected) return;
			if (!performance.getEntriesByName("webviewkit:live").length) performance.mark("webviewkit:live");
			this.setState("live");
		} catch (error) {
			this.handleFetchError(error);
		}
	}

	onDisconnect(reason) {
		if (!navigator.onLine) return this.setState("offline");
		this.setState("reconnecting");
		// The server closed us on purpose: socket.io will not retry by itself.
		if (reason === "io server disconnect") this.retryLater();
	}

	onConnectError() {
		this.setState(navigator.onLine ? "reconnecting" : "offline");
		// Auth middleware refusals end socket.io's own retries; find out whether the
		// session is gone (then the page is over) or the server is merely restarting.
		if (!this.socket.active) this.checkSession().then((ok) => ok && this.retryLater());
	}

	retryLater() {
		this.retryDelay = Math.min((this.retryDelay || 250) * 2, 4000);
		clearTimeout(this.retryTimer);
		this.retryTimer = setTimeout(() => this.socket.connect(), this.retryDelay * (0.5 + Math.random()));
	}

	reconnectNow() {
		if (this.state === "ended" || !this.socket || this.socket.connected) return;
		this.setState("reconnecting");
		clearTimeout(this.retryTimer);
		this.socket.disconnect().connect();
	}

	async checkSession() {
		try {
			const response = await fetch("/api/method/frappe.auth.get_logged_user", { credentials: "same-origin" });
			if (response.status === 401 || response.status === 403) return this.end(), false;
			return true;
		} catch {
			return true; // the web server is down too: keep trying
		}
	}

	end(message) {
		this.setState("ended", message);
		document.body.dataset.realtime = "ended";
		clearTimeout(this.retryTimer);
		this.socket?.disconnect();
	}

	handleFetchError(error) {
		if (error.status === 401 || error.status === 403) this.end();
	}

	// -- ordered delivery ------------------------------------------------------
	receive(event, envelope) {
		if (event === this.events.session_ended) return this.end();
		const room = envelope && this.rooms.get(envelope.room);
		if (!room || typeof envelope.seq !== "number") return;
		if (room.syncing) room.buffer.push(envelope);
		else this.accept(room, envelope);
	}

	accept(room, envelope) {
		if (envelope.epoch !== room.epoch && room.epoch) return this.resync(room, envelope);
		if (envelope.seq <= room.seq) return; // seen already
		if (envelope.seq === room.seq + 1 || !room.epoch) return this.apply(room, envelope);
		room.buffer.push(envelope); // a gap: fetch what is missing first (even for a coalesced event:
		// the missing ones may be other events of the room)
		this.sync(room).catch((error) => this.handleFetchError(error));
	}

	resync(room, envelope) {
		room.buffer.push(envelope);
		room.epoch = "";
		this.sync(room).catch((error) => this.handleFetchError(error));
	}

	sync(room) {
		room.syncing ||= this.catchUp(room).finally(() => (room.syncing = null));
		return room.syncing;
	}

	async catchUp(room) {
		for (;;) {
			const params = new URLSearchParams({ room: room.name, after: room.seq, epoch: room.epoch || "" });
			const response = await fetch(`${CATCH_UP}?${params}`, { credentials: "same-origin" });
			if (!response.ok) throw Object.assign(new Error("catch-up failed"), { status: response.status });
			const { message } = await response.json();
			if (message.gap) await this.recover(room, message);
			if (room.epoch && room.epoch !== message.epoch) continue; // the fresh page is of a newer epoch
			for (const envelope of message.events) if (envelope.seq > room.seq) this.apply(room, envelope);
			room.epoch = message.epoch;
			if (room.seq >= message.head) break;
		}
		const buffered = room.buffer.sort((a, b) => a.seq - b.seq);
		room.buffer = [];
		room.syncing = null;
		for (const envelope of buffered) this.accept(room, envelope);
	}

	// -- catch-up on the socket (Frappe v16: the kit's realtime/handlers.js answers it) -----------
	/** Catch up over the socket instead of HTTP; the handler also joins the document rooms. */
	catchUpOnTheSocket() {
		this.catchUp = this.catchUpOverSocket;
		this.asked = new Map(); // id -> {resolve, reject} of the questions on this connection
		this.lastAsked = 0;
		for (const room of this.rooms.values()) {
			room.ticket = this.config.rooms[room.name].ticket;
			[room.joinOverHttp, room.subscribe] = [room.subscribe, null];
		}
	}

	async catchUpOverSocket(room) {
		if (room.overHttp) return WebviewKit.prototype.catchUp.call(this, room);
		for (;;) {
			const message = await this.askSocket(room);
			if (message.status) return this.catchUpOverHttpInstead(room);
			if (message.gap) await this.recover(room, message);
			if (room.epoch && room.epoch !== message.epoch) continue; // the fresh page is of a newer epoch
			for (const envelope of message.events) if (envelope.seq > room.seq) this.apply(room, envelope);
			room.epoch = message.epoch;
			if (room.seq >= message.head) break;
		}
		const buffered = room.buffer.sort((a, b) => a.seq - b.seq);
		room.buffer = [];
		room.syncing = null;
		for (const envelope of buffered) this.accept(room, envelope);
	}

	/** The handler did not answer (a refusal, Redis away): this room catches up over HTTP from now on. */
	catchUpOverHttpInstead(room) {
		room.overHttp = true;
		room.subscribe = room.joinOverHttp;
		if (room.subscribe) this.socket.emit(...room.subscribe);
		return WebviewKit.prototype.catchUp.call(this, room);
	}

	askSocket(room) {
		if (!this.listening) {
			this.listening = true;
			this.socket.on("webview_kit.caught_up", (answer) => {
				const asked = this.asked.get(answer?.id);
				this.asked.delete(answer?.id);
				asked?.resolve(answer);
			});
			// No answer comes over a closed connection; the next connect catches every room up again.
			this.socket.on("disconnect", () => {
				for (const asked of this.asked.values()) asked.reject(new Error("the socket closed"));
				this.asked.clear();
			});
		}
		if (!this.socket.connected) return Promise.reject(new Error("the socket is closed"));
		const id = ++this.lastAsked;
		const question = { id, room: room.name, after: room.seq, epoch: room.epoch || "", ticket: room.ticket };
		return new Promise((resolve, reject) => {
			this.asked.set(id, { resolve, reject });
			this.socket.emit("webview_kit.catch_up", question);
		});
	}

	async recover(room, message) {
		// History no longer covers the gap: say so, show the latest state, move on from there.
		// A page with fragments is rendered afresh (`refresh`, fragments.js) and continues from
		// that rendering's position; others apply each event's latest value and go on from the head.
		this.resyncs += 1;
		this.setState("reconnecting", "Some updates were missed; showing the latest state.");
		const fresh = this.refresh && (await this.refresh())[room.name];
		if (fresh) {
			room.seq = fresh.seq;
			room.epoch = fresh.epoch;
		} else {
			for (const envelope of message.snapshot) this.dispatch(envelope);
			room.seq = message.head;
			room.epoch = message.epoch;
		}
		this.record([room.name, "resync", room.seq]);
		signal("resync", { room: room.name });
	}

	apply(room, envelope) {
		room.seq = envelope.seq;
		room.epoch = envelope.epoch;
		this.record([room.name, envelope.seq]);
		this.dispatch(envelope);
	}

	record(entry) {
		this.applied.push(entry);
		if (this.applied.length > APPLIED_KEPT * 2) this.applied.splice(0, this.applied.length - APPLIED_KEPT);
	}

	dispatch(envelope) {
		for (const handler of this.handlers.get(envelope.event) || []) handler(envelope.data, envelope);
		for (const handler of this.handlers.get("*") || []) handler(envelope.data, envelope);
	}
}

function signal(name, detail) {
	document.dispatchEvent(new CustomEvent(`webviewkit:${name}`, { detail }));
}

async function answer(response) {
	if (!response.ok) throw Object.assign(new Error(`${response.status} ${response.url}`), { status: response.status });
	return (await response.json()).message;
}
