// The page's catch-up on the socket (public/js/webview/realtime.js) with the kit's handler
// (realtime/handlers.js) behind it, over an in-memory socket pair, on a history the Python side
// wrote to the real queue Redis. Run by webview_kit/tests/test_socket_catch_up.py (see
// handlers.test.js for the environment).

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const { after, before, test } = require("node:test");

const handlers = require("../handlers");

const { createClient } = require(process.env.WVK_REDIS_CLIENT);
const given = JSON.parse(fs.readFileSync(process.env.WVK_CASES, "utf8"));
const REALTIME = path.join(__dirname, "..", "..", "webview_kit", "public", "js", "webview", "realtime.js");
// A page that never gets live would wait forever: end such a test as failed instead.
const HANG = { timeout: 30_000 };
let redis;
let WebviewKit;

// What realtime.js touches of a browser: the body's dataset, document events, window events.
const documentListeners = {};
globalThis.document = {
	body: { dataset: {} },
	hidden: false,
	querySelector: () => null,
	addEventListener: (type, listener) => (documentListeners[type] ||= []).push(listener),
	removeEventListener: (type, listener) => documentListeners[type]?.splice(documentListeners[type].indexOf(listener), 1),
	dispatchEvent: (event) => (documentListeners[event.type] || []).forEach((listener) => listener(event)),
};
globalThis.addEventListener = () => {};
globalThis.CustomEvent = class CustomEvent {
	constructor(type, { detail } = {}) {
		Object.assign(this, { type, detail });
	}
};
Object.defineProperty(globalThis, "navigator", { value: { onLine: true }, configurable: true });

before(async () => {
	redis = createClient({ url: process.env.WVK_REDIS_URL });
	await redis.connect();
	handlers.useRedis(redis);
	// The page's modules import each other by relative path: load them as ES modules from a copy
	// of their folder marked as such (the app's own folder is not a package of "type": "module").
	const copy = fs.mkdtempSync(path.join(os.tmpdir(), "wvk-page-"));
	fs.cpSync(path.dirname(REALTIME), copy, { recursive: true });
	fs.writeFileSync(path.join(copy, "package.json"), JSON.stringify({ type: "module" }));
	({ WebviewKit } = await import(pathToFileURL(path.join(copy, path.basename(REALTIME)))));
});

after(() => redis.quit());

/** A connected page socket and the server side socket the handler sees, wired to each other. */
function socketPair({ allowed = true } = {}) {
	const page = { listeners: {}, any: [], connected: false, sent: [] };
	const server = { listeners: {} };
	Object.assign(page, {
		on: (event, listener) => (page.listeners[event] ||= []).push(listener),
		onAny: (listener) => page.any.push(listener),
		fire: (event, ...args) => (page.listeners[event] || []).forEach((listener) => listener(...args)),
		emit: (event, payload, ...rest) => {
			page.sent.push([event, payload, ...rest]);
			if (page.connected) server.listeners[event]?.(payload);
		},
		connect: () => {
			page.connected = true;
			page.fire("connect");
		},
		drop: () => {
			page.connected = false;
			page.fire("disconnect", "transport close");
		},
	});
	Object.assign(server, {
		nsp: { name: `/${given.site}` },
		sid: given.sid,
		user: given.user,
		rooms: new Set([given.user_room]),
		on: (event, listener) => (server.listeners[event] = listener),
		emit: (event, payload) => {
			if (!page.connected) return;
			page.any.forEach((listener) => listener(event, payload));
			page.fire(event, payload);
		},
		join: (room) => server.rooms.add(room),
		frappe_request: async () => ({ ok: allowed, status: allowed ? 200 : 403, json: async () => ({ message: allowed }) }),
	});
	handlers(server);
	return { page, server };
}

/** Resolve once the page's state is `state` (it signals each change as `webviewkit:state`). */
function reaches(state) {
	return new Promise((resolve) => {
		if (document.body.dataset.realtime === state) return resolve();
		const listener = (event) => {
			if (event.detail.state !== state) return;
			document.removeEventListener("webviewkit:state", listener);
			resolve();
		};
		document.addEventListener("webviewkit:state", listener);
	});
}

function pageFor(c, { catchUp = "socket", ticket = c.ticket } = {}) {
	document.body.dataset = {};
	const config = {
		events: { session_ended: "webview_kit.session_ended" },
		catch_up: catchUp,
		rooms: { [c.room]: { seq: c.after, epoch: c.epoch, subscribe: c.subscribe || null, ticket } },
	};
	return new WebviewKit(config);
}

function fetchAnswering(message) {
	const calls = [];
	globalThis.fetch = async (url) => {
		calls.push(String(url));
		return { ok: true, status: 200, json: async () => ({ message }) };
	};
	return calls;
}

test("a reconnect catches up on the socket alone: no HTTP request", HANG, async () => {
	const c = given.cases.find((each) => each.name === "from the middle");
	const calls = fetchAnswering(null);
	const kit = pageFor(c);
	const { page } = socketPair();
	kit.start(page);
	page.connect();
	await reaches("live");
	assert.deepEqual(calls, []);
	const seqs = c.expected.events.map((envelope) => envelope.seq);
	assert.deepEqual(kit.applied, seqs.map((seq) => [c.room, seq]));
	assert.equal(kit.rooms.get(c.room).seq, c.expected.head);
});

test("a document room is joined by the handler, not by doc_subscribe", HANG, async () => {
	const c = { ...given.doc_case, subscribe: ["doc_subscribe", given.doc_case.doctype, given.doc_case.name] };
	fetchAnswering(null);
	const kit = pageFor(c);
	const { page, server } = socketPair();
	kit.start(page);
	page.connect();
	await reaches("live");
	assert.ok(server.rooms.has(c.room));
	assert.deepEqual(
		page.sent.map(([event]) => event),
		["webview_kit.catch_up"],
	);
	assert.equal(kit.rooms.get(c.room).seq, c.expected.head);
});

test("a refused socket catch-up falls back to HTTP, which decides", HANG, async () => {
	const c = given.cases.find((each) => each.name === "from the middle");
	const calls = fetchAnswering(c.expected);
	const kit = pageFor(c, { ticket: "00" });
	const { page } = socketPair();
	kit.start(page);
	page.connect();
	await reaches("live");
	assert.equal(calls.length, 1);
	assert.match(calls[0], /webview_kit\.api\.catch_up\?room=/);
	assert.equal(kit.rooms.get(c.room).seq, c.expected.head);
});

test("a question left unanswered when the socket drops is asked again on the next connect", HANG, async () => {
	const c = given.cases.find((each) => each.name === "from the middle");
	fetchAnswering(null);
	const kit = pageFor(c);
	const { page, server } = socketPair();
	const answer = server.listeners;
	kit.start(page);
	// The socket drops after the question left and before the answer came.
	const handler = answer["webview_kit.catch_up"];
	answer["webview_kit.catch_up"] = () => page.drop();
	page.connect();
	await reaches("reconnecting");
	await kit.rooms.get(c.room).syncing?.promise.catch(() => {}); // the unanswered catch-up gave up
	answer["webview_kit.catch_up"] = handler;
	page.connect();
	await reaches("live");
	assert.equal(kit.rooms.get(c.room).seq, c.expected.head);
});

test("v15 pages keep the HTTP catch-up", HANG, async () => {
	const c = given.cases.find((each) => each.name === "from the middle");
	const calls = fetchAnswering(c.expected);
	const kit = pageFor(c, { catchUp: "http" });
	const { page } = socketPair();
	kit.start(page);
	page.connect();
	await reaches("live");
	assert.equal(calls.length, 1);
	assert.deepEqual(
		page.sent.map(([event]) => event),
		[],
	);
});
