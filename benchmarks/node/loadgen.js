// Socket.io load for `python -m benchmarks`: COUNT authenticated sockets of one user,
// each noting when every event of the stream reached it.
//
// Started with one JSON argument (see benchmarks/loadgen.py); it connects every socket
// through the front (`/socket.io`, websocket transport, a session's `sid` cookie), says
// {"type": "connected", ...} on stdout, then answers one JSON command per stdin line
// with one JSON line. Times are wall-clock milliseconds (performance.timeOrigin + now()),
// the clock the publisher stamps events with.
//
// mode "webview_kit": events are webview_kit envelopes ({seq, epoch, data}); after a
// reconnect a client fetches what it missed from webview_kit.api.catch_up, as a webview
// page does. mode "stock": events are plain frappe.publish_realtime messages.
"use strict";

const { io } = require("socket.io-client");
const { performance } = require("node:perf_hooks");
const readline = require("node:readline");

const config = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const CATCH_UP = "/api/method/webview_kit.api.catch_up";
// A refused webview client retries its first connect this many times before it counts as never
// connected (with backoff up to 4 s: about half a minute).
const FIRST_CONNECT_RETRIES = 8;

class Client {
	constructor(index) {
		this.sid = config.sids[index % config.sids.length];
		this.times = new Map(); // count -> how many times it arrived
		this.latencies = [];
		this.seq = 0;
		this.epoch = "";
		this.connects = 0;
		this.backAt = 0; // when the last reconnect's socket was accepted
		this.caughtUp = 0;
		this.catchUpMs = 0; // how long the last reconnect's catch-up took
		this.catchUps = 0;
		this.gaps = 0;
		this.connectErrors = 0;
		this.refusedFirst = 0; // refusals before the first connect
		this.syncing = null;
		this.buffer = [];
		this.downAt = 0; // when the socket last dropped
		this.outages = []; // [dropped at, ms until caught up again] per reconnect
	}

	open() {
		return new Promise((resolve) => {
			this.firstConnect = resolve;
			const socket = io(`${config.url}/${config.site}`, {
				path: "/socket.io",
				transports: ["websocket"],
				extraHeaders: { Cookie: `sid=${this.sid}` },
				forceNew: true,
				...config.reconnection,
			});
			this.socket = socket;
			socket.on(config.event, (message) => this.receive(message, now()));
			socket.on("disconnect", () => {
				this.downAt = now();
			});
			socket.on("connect", () => {
				this.connects += 1;
				this.retryDelay = 0;
				if (this.connects === 1) this.settleFirst(true);
				else this.reconnected(now());
			});
			socket.io.on("reconnect_failed", () => {
				this.gaveUp = true;
				if (this.connects === 0) this.settleFirst(false);
			});
			socket.on("connect_error", (error) => {
				this.connectErrors += 1;
				this.connectError = error.message;
				if (socket.active) return; // socket.io tries again by itself
				// A refusal by the server's auth middleware ends socket.io's own retries; a
				// webview page then retries on its own (realtime.js onConnectError), so this does too.
				if (this.connects > 0) {
					if (config.mode === "webview_kit") this.retryLater();
					return;
				}
				this.refusedFirst += 1;
				if (this.retryingFirst && this.refusedFirst <= FIRST_CONNECT_RETRIES) return this.retryLater();
				this.gaveUp = this.retryingFirst;
				this.settleFirst(false);
			});
		});
	}

	settleFirst(ok) {
		const resolve = this.firstConnect;
		this.firstConnect = null;
		if (resolve) resolve(ok);
	}

	/** Retry a refused first connect with backoff, as a webview page does; true once connected. */
	retryFirst() {
		return new Promise((resolve) => {
			this.firstConnect = resolve;
			this.retryingFirst = true;
			this.retryLater();
		});
	}

	retryLater() {
		if (this.ended) return;
		this.retryDelay = Math.min((this.retryDelay || 250) * 2, 4000);
		setTimeout(() => this.socket.connect(), this.retryDelay * (0.5 + Math.random()));
	}

	note(data, arrived, live) {
		this.times.set(data.count, (this.times.get(data.count) || 0) + 1);
		if (live) this.latencies.push(arrived - data.t);
	}

	receive(message, arrived) {
		if (config.mode !== "webview_kit") return this.note(message, arrived, true);
		if (!message || typeof message.seq !== "number") return;
		if (this.syncing) this.buffer.push([message, arrived]);
		else this.accept(message, arrived);
	}

	// As a webview page does (realtime.js): drop what it had, apply the next one, and hold
	// anything after a gap until the missing stretch has been fetched.
	accept(envelope, arrived) {
		if (envelope.seq <= this.seq && envelope.epoch === this.epoch) return;
		if (this.seq && envelope.epoch === this.epoch && envelope.seq > this.seq + 1) {
			this.buffer.push([envelope, arrived]);
			this.sync();
			return;
		}
		this.apply(envelope, arrived, true);
	}

	apply(envelope, arrived, live) {
		this.seq = envelope.seq;
		this.epoch = envelope.epoch;
		if (envelope.event === config.event) this.note(envelope.data, arrived, live);
	}

	async reconnected(at) {
		this.backAt = at;
		const downAt = this.downAt;
		if (config.mode !== "webview_kit") {
			this.caughtUp = at;
		} else if (await this.sync()) {
			this.caughtUp = now();
			this.catchUpMs = this.caughtUp - at;
		} else {
			return;
		}
		if (downAt) this.outages.push([downAt, this.caughtUp - downAt]);
	}

	/** Catch up; a request while one runs makes it go round once more. True once caught up. */
	sync() {
		if (this.ended) return Promise.resolve(false);
		this.wanted = true;
		this.syncing ||= (async () => {
			let ok = true;
			while (this.wanted) {
				this.wanted = false;
				ok = await this.catchUp();
			}
			return ok;
		})().finally(() => {
			this.syncing = null;
			const held = this.buffer.sort((a, b) => a[0].seq - b[0].seq);
			this.buffer = [];
			for (const [envelope, arrived] of held) this.accept(envelope, arrived);
		});
		return this.syncing;
	}

	async catchUp() {
		try {
			for (;;) {
				const params = new URLSearchParams({ room: config.room, after: this.seq, epoch: this.epoch });
				const response = await fetch(`${config.url}${CATCH_UP}?${params}`, {
					headers: { Cookie: `sid=${this.sid}`, Accept: "application/json" },
				});
				if (response.status === 401 || response.status === 403) {
					// As a page does (realtime.js handleFetchError): the session is over, stop.
					this.ended = true;
					this.socket.disconnect();
				}
				if (!response.ok) throw new Error(`catch_up answered ${response.status}`);
				const { message } = await response.json();
				this.catchUps += 1;
				for (const envelope of message.events) {
					if (envelope.seq > this.seq) this.apply(envelope, now(), false);
				}
				this.epoch = message.epoch;
				if (message.gap) {
					this.gaps += 1;
					this.seq = message.head; // history no longer covers the gap: move on from the head
				}
				if (message.gap || !message.events.length || this.seq >= message.head) return true;
			}
		} catch (error) {
			this.catchUpError = String(error);
			return false;
		}
	}
}

const clients = Array.from({ length: config.count }, (_, i) => new Client(i));

async function connectAll() {
	const started = now();
	let next = 0;
	let failed = 0;
	async function lane() {
		while (next < clients.length) {
			const client = clients[next++];
			if (!(await client.open())) failed += 1;
		}
	}
	await Promise.all(Array.from({ length: Math.min(config.concurrency, clients.length) }, lane));
	// A webview page retries a refused first connect (realtime.js onConnectError), a stock page
	// does not. The refused webview clients retry together, each with its own backoff, so a
	// server that refuses for a while costs the connect phase seconds, not seconds per client.
	let retried = 0;
	if (config.mode === "webview_kit") {
		const refused = clients.filter((c) => c.connects === 0 && c.refusedFirst > 0);
		retried = (await Promise.all(refused.map((c) => c.retryFirst()))).filter(Boolean).length;
		failed -= retried;
	}
	say({ type: "connected", ok: clients.length - failed, failed, retried, seconds: (now() - started) / 1000 });
}

function report(expected) {
	let lost = 0;
	let duplicates = 0;
	let receivedBy = 0;
	const latencies = [];
	for (const client of clients) {
		for (const count of expected) {
			const times = client.times.get(count) || 0;
			if (times === 0) lost += 1;
			if (times > 1) duplicates += times - 1;
		}
		if (expected.every((count) => client.times.has(count))) receivedBy += 1;
		for (const ms of client.latencies) latencies.push(Math.round(ms * 100) / 100);
	}
	return { type: "report", lost, duplicates, complete_sockets: receivedBy, latencies };
}

function status(since, times) {
	const connected = clients.filter((c) => c.socket.connected).length;
	const caught = clients.filter((c) => c.caughtUp > since);
	const back = clients.filter((c) => c.backAt > since);
	return {
		// with `times`, each client's own: socket accepted, caught up (wall ms), catch-up took (ms)
		...(times && {
			back_at: back.map((c) => c.backAt),
			caught_up_at: caught.map((c) => c.caughtUp),
			catch_up_ms: caught.map((c) => c.catchUpMs),
			// each reconnect's time from the socket dropping to caught up (stock: to back)
			outage_ms: clients.flatMap((c) => c.outages.filter(([down]) => down > since).map(([, ms]) => ms)),
		}),
		dropped: clients.filter((c) => c.downAt > since).length,
		// dropped since, and not (yet) back and caught up after that drop (given up: not counted)
		behind: clients.filter((c) => c.downAt > since && !(c.caughtUp > c.downAt) && !c.gaveUp && !c.ended)
			.length,
		type: "status",
		connected,
		// still trying to reconnect (stock pages stop after reconnectionAttempts)
		trying: clients.filter((c) => !c.socket.connected && !c.gaveUp && !c.ended).length,
		ended: clients.filter((c) => c.ended).length,
		gave_up: clients.filter((c) => c.gaveUp && !c.socket.connected).length,
		connect_errors: clients.reduce((sum, c) => sum + c.connectErrors, 0),
		caught_up: caught.length,
		last_caught_up: Math.max(0, ...caught.map((c) => c.caughtUp)),
		syncing: clients.filter((c) => c.syncing).length,
		catch_ups: clients.reduce((sum, c) => sum + c.catchUps, 0),
		gaps: clients.reduce((sum, c) => sum + c.gaps, 0),
		errors: clients.filter((c) => c.catchUpError).map((c) => c.catchUpError).slice(0, 3),
		connect_error_kinds: [...new Set(clients.map((c) => c.connectError).filter(Boolean))].slice(0, 5),
	};
}

const commands = {
	clock: () => ({ type: "clock", now: now() }),
	reset: () => {
		for (const client of clients) {
			client.times.clear();
			client.latencies = [];
		}
		return { type: "reset" };
	},
	report: ({ expected }) => report(expected),
	status: ({ since, times }) => status(since, times),
	quit: () => {
		for (const client of clients) client.socket.disconnect();
		setTimeout(() => process.exit(0), 100);
		return { type: "quit" };
	},
};

readline.createInterface({ input: process.stdin }).on("line", (line) => {
	if (!line.trim()) return;
	const request = JSON.parse(line);
	say(commands[request.cmd](request));
});
process.stdin.on("end", () => process.exit(0));

connectAll();
