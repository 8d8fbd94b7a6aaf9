// realtime/handlers.js against a real queue Redis, on histories the Python side wrote.
//
// Run by webview_kit/tests/test_socket_catch_up.py, which publishes the events, writes what
// publish.history() answers for each case to $WVK_CASES and points $WVK_REDIS_URL at the
// site's queue Redis and $WVK_REDIS_CLIENT at the bench's @redis/client:
//   node --test realtime/tests/

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const { after, before, test } = require("node:test");

const handlers = require("../handlers");

const { createClient } = require(process.env.WVK_REDIS_CLIENT);
const given = JSON.parse(fs.readFileSync(process.env.WVK_CASES, "utf8"));
let redis;

before(async () => {
	redis = createClient({ url: process.env.WVK_REDIS_URL });
	await redis.connect();
	handlers.useRedis(redis);
});

after(() => redis.quit());

/** A socket as v16's socket server hands it to app handlers, with Frappe's answers stubbed. */
function fakeSocket({ rooms = [given.user_room], allowed = true, sid = given.sid } = {}) {
	const listeners = {};
	const socket = {
		nsp: { name: `/${given.site}` },
		sid,
		user: given.user,
		rooms: new Set(rooms),
		joined: [],
		asked: [],
		on: (event, listener) => (listeners[event] = listener),
		emit: (event, payload) => socket.answered(event, payload),
		join: (room) => socket.joined.push(room) && socket.rooms.add(room),
		frappe_request: async (path, args) => {
			socket.asked.push([path, args]);
			return { ok: allowed, status: allowed ? 200 : 403, json: async () => (allowed ? { message: true } : {}) };
		},
	};
	handlers(socket);
	socket.ask = (payload) =>
		new Promise((resolve) => {
			socket.answered = (event, answer) => resolve({ event, answer });
			listeners["webview_kit.catch_up"](payload);
		});
	return socket;
}

async function ticketFor(room, sid = given.sid) {
	const secret = await redis.get("webview_kit:socket-ticket-secret");
	return crypto.createHmac("sha256", secret).update(`${given.site}\n${sid}\n${room}`).digest("hex");
}

test("each catch-up is answered as publish.history answers it", async (t) => {
	for (const c of given.cases) {
		await t.test(c.name, async () => {
			const socket = fakeSocket();
			const { event, answer } = await socket.ask({ id: 7, room: c.room, after: c.after, epoch: c.epoch, ticket: c.ticket });
			assert.equal(event, "webview_kit.caught_up");
			assert.deepEqual(answer, { id: 7, ...c.expected });
		});
	}
});

test("a document room is joined through Frappe's permission callback before its history is read", async () => {
	const c = given.doc_case;
	const socket = fakeSocket();
	const { answer } = await socket.ask({ id: 1, room: c.room, after: c.after, epoch: c.epoch, ticket: c.ticket });
	assert.deepEqual(answer, { id: 1, ...c.expected });
	assert.deepEqual(socket.asked, [["/api/method/frappe.realtime.has_permission", { doctype: c.doctype, name: c.name }]]);
	assert.deepEqual(socket.joined, [c.room]);
	const again = await socket.ask({ id: 2, room: c.room, after: c.after, epoch: c.epoch, ticket: c.ticket });
	assert.equal(again.answer.head, c.expected.head);
	assert.equal(socket.asked.length, 1, "a room the socket is in is not asked about again");
});

test("a document room Frappe refuses is neither joined nor answered", async () => {
	const c = given.doc_case;
	const socket = fakeSocket({ allowed: false });
	const { answer } = await socket.ask({ id: 3, room: c.room, after: 0, epoch: "", ticket: c.ticket });
	assert.deepEqual(answer, { id: 3, status: 403, error: "You cannot follow this room" });
	assert.deepEqual(socket.joined, []);
});

test("a room without this session's ticket is refused", async (t) => {
	const room = given.user_room;
	const cases = {
		"no ticket": undefined,
		"a forged ticket": "00".repeat(32),
		"another session's ticket": await ticketFor(room, "another-sid"),
		"another room's ticket": await ticketFor(given.doc_case.room),
		"not hex": "zz",
	};
	for (const [name, ticket] of Object.entries(cases)) {
		await t.test(name, async () => {
			const { answer } = await fakeSocket().ask({ id: 4, room, after: 0, epoch: "", ticket });
			assert.deepEqual(answer, { id: 4, status: 403, error: "You cannot follow this room" });
		});
	}
});

test("another user's room is refused even with a ticket for it", async () => {
	const room = "user:someone-else@example.com";
	const socket = fakeSocket();
	const { answer } = await socket.ask({ id: 5, room, after: 0, epoch: "", ticket: await ticketFor(room) });
	assert.equal(answer.status, 403);
	assert.deepEqual(socket.asked, [], "no permission callback for a user room");
});

test("bad input gets 417 with what was wrong", async (t) => {
	const room = given.user_room;
	const ticket = await ticketFor(room);
	const cases = [
		["a negative position", { room, after: -1 }, "after must be a sequence number"],
		["a position that is not a number", { room, after: "3" }, "after must be a sequence number"],
		["a fraction", { room, after: 1.5 }, "after must be a sequence number"],
		["no room", { after: 0 }, "Unknown room"],
		["an oversized room", { room: "u".repeat(300), after: 0 }, "Unknown room"],
	];
	for (const [name, ask, error] of cases) {
		await t.test(name, async () => {
			const { answer } = await fakeSocket().ask({ id: 6, ticket, epoch: "", ...ask });
			assert.equal(answer.status, 417);
			assert.match(answer.error, new RegExp(error));
		});
	}
});

test("answers are counted in the site's metrics", async () => {
	const key = `webview_kit:metrics:${given.site}`;
	const before = Number((await redis.hGet(key, "catch_ups")) || 0);
	const c = given.cases[0];
	await fakeSocket().ask({ id: 8, room: c.room, after: c.after, epoch: c.epoch, ticket: c.ticket });
	await redis.ping(); // the count's MULTI was sent before this on the same connection
	assert.equal(Number(await redis.hGet(key, "catch_ups")), before + 1);
});
