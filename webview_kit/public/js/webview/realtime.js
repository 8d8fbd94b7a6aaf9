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
// A room the page joins by a socket event (a document's) counts as caught up only once the
// catch-up's probe (publish.py, _probe_messages) showed the socket was in it before history
// was read: Frappe's `doc_subscribe` says nothing when it has joined.
// The socket comes from the caller: the webview shell opens its own (webview.bundle.js), and
// the include for Frappe's web pages (realtime_pages.bundle.js) hands over Frappe's.

import { __ } from "./translate.js";

const CATCH_UP = "/api/method/webview_kit.api.catch_up";
const APPLIED_KEPT = 10000;
const JOINED = "webview_kit.joined"; // publish.EVENT_JOINED
// Live events held while a room catches up: the oldest go past this, and are fetched again.
const BUFFER_KEPT = 1000;
// A catch-up (its answer, or its probe's verdict) that takes longer is given up and asked again.
const CATCH_UP_TIMEOUT = 10000;
const UNKNOWN_FATE = new Set([408, 425, 429, 500, 502, 503, 504]);

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
		this.joined = !subscribe; // whether the socket is known to be in it (user rooms: on connect)
		this.syncing = null; // the catch-up under way: {promise, controller}
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
		this.probes = new Map(); // probe id -> [room, resolve(joined)]
		this.connecting = 0; // connects whose catch-ups are under way
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

	/** Stop calling `handler` for `event` (its first listing, as socket.io's emitter does). */
	off(event, handler) {
		const handlers = this.handlers.get(event) || [];
		const at = handlers.indexOf(handler);
		if (at >= 0) handlers.splice(at, 1);
	}

	get state() {
		return document.body.dataset.realtime;
	}

	setState(state, message = "") {
		if (this.state === "ended") return;
		const changed = this.state !== state;
		document.body.dataset.realtime = state;
		const banner = document.querySelector(".wvk-banner");
		if (banner) banner.textContent = message || (BANNERS[state] ? __(BANNERS[state]) : "");
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
		for (const room of this.rooms.values()) {
			// A catch-up of the last connection (perhaps hung) must not hold this one up.
			this.stopSync(room);
			if (!room.subscribe) continue;
			room.joined = false;
			this.socket.emit(...room.subscribe);
		}
		this.connecting += 1;
		try {
			await Promise.all([...this.rooms.values()].map((room) => this.sync(room)));
			if (!this.socket.connected) return;
			if (!performance.getEntriesByName("webviewkit:live").length) performance.mark("webviewkit:live");
			this.setState("live");
		} catch (error) {
			this.handleFetchError(error); // stopped by a newer connection: that one goes on
		} finally {
			this.connecting -= 1;
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
		if (error?.status === 401 || error?.status === 403) this.end();
	}

	// -- ordered delivery ------------------------------------------------------
	receive(event, envelope) {
		if (event === this.events.session_ended) return this.end();
		if (event === JOINED) return this.probed(envelope);
		const room = envelope && this.rooms.get(envelope.room);
		if (!room || typeof envelope.seq !== "number") return;
		if (room.syncing) this.hold(room, envelope);
		else this.accept(room, envelope);
	}

	accept(room, envelope) {
		// Another epoch: the room's history restarted. The catch-up says so (it is asked with
		// the epoch the page knows) and the page resyncs.
		const restarted = envelope.epoch !== room.epoch && room.epoch;
		if (!restarted && envelope.seq <= room.seq) return; // seen already
		if (!restarted && envelope.seq === room.seq + 1) return this.apply(room, envelope);
		this.hold(room, envelope); // a gap: fetch what is missing first (even for a coalesced event:
		// the missing ones may be other events of the room)
		this.sync(room).then(
			() => this.caughtUp(),
			(error) => this.handleFetchError(error),
		);
	}

	/** Back to live after a resync while connected, once no room is catching up any more. */
	caughtUp() {
		const syncing = [...this.rooms.values()].some((room) => room.syncing);
		if (!syncing && !this.connecting && this.socket?.connected && this.state === "reconnecting") {
			this.setState("live");
		}
	}

	hold(room, envelope) {
		room.buffer.push(envelope);
		if (room.buffer.length > BUFFER_KEPT) room.buffer.splice(0, room.buffer.length - BUFFER_KEPT);
	}

	sync(room) {
		if (!room.syncing) {
			const run = { controller: new AbortController() };
			run.promise = this.catchUp(room, run.controller.signal).finally(() => {
				if (room.syncing === run) room.syncing = null;
			});
			room.syncing = run;
		}
		return room.syncing.promise;
	}

	stopSync(room) {
		room.syncing?.controller.abort();
		room.syncing = null;
	}

	async catchUp(room, signal) {
		for (let delay = 100; ; delay = Math.min(delay * 2, 4000)) {
			const probe = room.joined ? null : newId();
			const verdict = probe && this.probe(room, probe, signal);
			const message = await this.fetchHistory(room, probe, signal);
			if (message.gap && !(await this.recover(room, message, signal))) {
				await pause(delay * (0.5 + Math.random()), signal); // the fresh page did not come: again
				continue;
			}
			if (signal.aborted) throw stopped();
			this.applyHistory(room, message);
			if (verdict) room.joined = await verdict;
			if (signal.aborted) throw stopped();
			if (room.joined && room.seq >= message.head && room.epoch === message.epoch) break;
			// The socket was not in the room yet when history was read: ask again once it may be.
			if (!room.joined) await pause(delay * (0.5 + Math.random()), signal);
		}
		this.release(room);
	}

	/** Apply a catch-up's events, unless the fresh page is of a newer epoch than it (then ask again). */
	applyHistory(room, message) {
		if (room.epoch && room.epoch !== message.epoch) return;
		for (const envelope of message.events) if (envelope.seq > room.seq) this.apply(room, envelope);
		room.epoch = message.epoch;
	}

	/** The room is caught up: apply, in order, what arrived live meanwhile. */
	release(room) {
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

	async catchUpOverSocket(room, signal) {
		if (room.overHttp) return WebviewKit.prototype.catchUp.call(this, room, signal);
		for (let delay = 100; ; delay = Math.min(delay * 2, 4000)) {
			const message = await this.askSocket(room, signal);
			if (message.status) return this.catchUpOverHttpInstead(room, signal);
			if (message.gap && !(await this.recover(room, message, signal))) {
				await pause(delay * (0.5 + Math.random()), signal); // the fresh page did not come: again
				continue;
			}
			if (signal.aborted) throw stopped();
			this.applyHistory(room, message);
			if (room.seq >= message.head && room.epoch === message.epoch) break;
		}
		this.release(room);
	}

	/** The handler did not answer (a refusal, Redis away): this room catches up over HTTP from now on. */
	catchUpOverHttpInstead(room, signal) {
		room.overHttp = true;
		room.subscribe = room.joinOverHttp;
		room.joined = !room.subscribe; // a document room's join is confirmed by the HTTP path's probe
		if (room.subscribe) this.socket.emit(...room.subscribe);
		return WebviewKit.prototype.catchUp.call(this, room, signal);
	}

	/** Ask the socket handler for `room`'s history; rejects when the socket closes or `signal` aborts. */
	askSocket(room, signal) {
		if (!this.listening) {
			this.listening = true;
			this.socket.on("webview_kit.caught_up", (answer) => {
				const asked = this.asked.get(answer?.id);
				this.asked.delete(answer?.id);
				asked?.resolve(answer);
			});
			// No answer comes over a closed connection; the next connect catches every room up again.
			this.socket.on("disconnect", () => {
				for (const asked of this.asked.values()) asked.reject(stopped());
				this.asked.clear();
			});
		}
		if (!this.socket.connected || signal.aborted) return Promise.reject(stopped());
		const id = ++this.lastAsked;
		const question = { id, room: room.name, after: room.seq, epoch: room.epoch || "", ticket: room.ticket };
		return new Promise((resolve, reject) => {
			this.asked.set(id, { resolve, reject });
			signal.addEventListener("abort", () => this.asked.delete(id) && reject(stopped()), { once: true });
			this.socket.emit("webview_kit.catch_up", question);
		});
	}

	/** GET the room's history after its position, retrying an unknown fate with backoff. */
	async fetchHistory(room, probe, signal) {
		for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
			const params = new URLSearchParams({ room: room.name, after: room.seq, epoch: room.epoch || "" });
			if (probe) params.set("probe", probe);
			const { status, body } = await getJSON(`${CATCH_UP}?${params}`, signal);
			if (status === 200) return body.message;
			if (status && !UNKNOWN_FATE.has(status)) {
				throw Object.assign(new Error(`catch-up failed (${status})`), { status });
			}
			await pause(delay * (0.5 + Math.random()), signal); // no answer, a timeout or a gateway error
		}
	}

	/** Resolve to whether `room`'s copy of `probe` reached the socket before the user room's. */
	probe(room, probe, signal) {
		return new Promise((resolve) => {
			const done = (joined) => {
				this.probes.delete(probe);
				clearTimeout(timer);
				signal.removeEventListener("abort", stopped);
				resolve(joined);
			};
			const stopped = () => done(false); // the catch-up that waits for it is stopped too
			// Both copies lost (the socket dropped unnoticed, or its server lost Redis): ask again.
			const timer = setTimeout(() => done(false), CATCH_UP_TIMEOUT);
			signal.addEventListener("abort", stopped);
			this.probes.set(probe, [room, done]);
		});
	}

	probed({ probe, via } = {}) {
		const waiting = this.probes.get(probe);
		if (waiting) waiting[1](via === waiting[0].name);
	}

	/** Resolve to true once recovered, false if the fresh page could not be had (ask again). */
	async recover(room, message, cancel) {
		// History no longer covers the gap: say so, show the latest state, move on from there.
		// A page with fragments is rendered afresh (`refresh`, fragments.js) and continues from
		// that rendering's position; others apply each event's latest value and go on from the head.
		this.setState("reconnecting", __("Some updates were missed; showing the latest state."));
		let rendered = null;
		if (this.refresh) {
			const timed = withTimeout(cancel);
			try {
				rendered = await this.refresh(timed.signal);
			} catch (error) {
				if (cancel.aborted) throw stopped();
				if (error?.status === 401 || error?.status === 403) throw error;
				return false;
			} finally {
				timed.done();
			}
		}
		const fresh = rendered?.[room.name];
		if (fresh) {
			room.seq = fresh.seq;
			room.epoch = fresh.epoch;
			// Every fragment now shows the fresh rendering: the page's other rooms are where it was
			// rendered too, and catch up from there.
			for (const [name, position] of Object.entries(rendered)) {
				const other = this.rooms.get(name);
				if (!other || other === room || other.syncing) continue;
				other.seq = position.seq;
				other.epoch = position.epoch;
				this.sync(other).then(
					() => this.caughtUp(),
					(error) => this.handleFetchError(error),
				);
			}
		} else {
			for (const envelope of message.snapshot) this.dispatch(envelope);
			room.seq = message.head;
			room.epoch = message.epoch;
		}
		this.resyncs += 1;
		this.record([room.name, "resync", room.seq]);
		signal("resync", { room: room.name });
		return true;
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
		// Copies: a handler may call off() while this runs.
		for (const handler of [...(this.handlers.get(envelope.event) || [])]) handler(envelope.data, envelope);
		for (const handler of [...(this.handlers.get("*") || [])]) handler(envelope.data, envelope);
	}
}

/** What a catch-up stopped by a newer connection throws (handleFetchError ignores it). */
function stopped() {
	return Object.assign(new Error("catch-up stopped"), { name: "AbortError" });
}

function newId() {
	return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** GET `url` and read its JSON within CATCH_UP_TIMEOUT: {status, body}, status 0 for no answer. */
async function getJSON(url, signal) {
	const timed = withTimeout(signal);
	try {
		const response = await fetch(url, { credentials: "same-origin", signal: timed.signal });
		return { status: response.status, body: response.ok ? await response.json() : null };
	} catch {
		if (signal.aborted) throw stopped();
		return { status: 0, body: null };
	} finally {
		timed.done();
	}
}

/** A signal that aborts with `signal` or after CATCH_UP_TIMEOUT; call done() when finished. */
function withTimeout(signal) {
	const controller = new AbortController();
	const stop = () => controller.abort();
	const timer = setTimeout(stop, CATCH_UP_TIMEOUT);
	signal.addEventListener("abort", stop);
	const done = () => {
		clearTimeout(timer);
		signal.removeEventListener("abort", stop);
	};
	return { signal: controller.signal, done };
}

/** Resolve after `ms`, or reject as soon as `signal` aborts. */
function pause(ms, signal) {
	return new Promise((resolve, reject) => {
		if (signal.aborted) return reject(stopped());
		const stop = () => {
			clearTimeout(timer);
			reject(stopped());
		};
		const timer = setTimeout(() => {
			signal.removeEventListener("abort", stop);
			resolve();
		}, ms);
		signal.addEventListener("abort", stop, { once: true });
	});
}

function signal(name, detail) {
	document.dispatchEvent(new CustomEvent(`webviewkit:${name}`, { detail }));
}

async function answer(response) {
	if (!response.ok) throw Object.assign(new Error(`${response.status} ${response.url}`), { status: response.status });
	return (await response.json()).message;
}
