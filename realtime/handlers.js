// webview_kit's part of Frappe v16's socket server: a page's catch-up, answered on its socket.
//
// v16's socket server (apps/frappe/realtime/index.js) requires apps/<app>/realtime/handlers.js
// of every installed app and calls it with each authenticated socket (socket.user, socket.sid,
// socket.frappe_request). v15's never loads it, and its pages catch up over HTTP instead.
//
// A page asks with `webview_kit.catch_up` {id, room, after, epoch, ticket} and gets
// `webview_kit.caught_up` {id, epoch, head, gap, events[, snapshot]}: what
// webview_kit/publish.py `history()` answers, read from the same Redis keys, so a reconnect
// costs Frappe one request (the socket server's get_user_info) instead of two. An answer it
// cannot give is {id, status, error}; the page then asks over HTTP, which decides.
//
// Who may catch up on what, as `catch_up` over HTTP decides (Room.can_follow):
// - the ticket (webview_kit/tickets.py) shows that this session's page declared the room when
//   it rendered, for a deep-link session within its scope;
// - a document room is joined first, through Frappe's permission callback, which the kit
//   answers for a deep-link session (webview_kit/api.py has_permission); a user room is the
//   socket's own, which Frappe joined on connect.
// The room is joined before its history is read, so an event published in between arrives
// live and none falls between the two.

const crypto = require("node:crypto");
const path = require("node:path");

const ASK = "webview_kit.catch_up";
const ANSWER = "webview_kit.caught_up";
const KEY_PREFIX = "webview_kit:room:"; // publish.py KEY_PREFIX
const TICKET_SECRET = "webview_kit:socket-ticket-secret"; // tickets.py SECRET_KEY
const CATCH_UP_LIMIT = 1000; // publish.py CATCH_UP_LIMIT
const MAX_ROOM = 256; // rooms.py MAX_LENGTH

let redis = null; // the queue Redis, one connection per socket server

/** Use `client` (a connected @redis/client) as the queue Redis instead of the bench's. */
function useRedis(client) {
	redis = Promise.resolve(client);
}

function queueRedis() {
	if (!redis) {
		// Frappe's own helper, so the connection is configured as the socket server's is.
		const { get_redis_subscriber } = require(path.join(__dirname, "..", "..", "frappe", "node_utils"));
		const client = get_redis_subscriber("redis_queue");
		client.on("error", (error) => console.warn(`webview_kit: queue Redis: ${error.message}`));
		redis = client.connect().then(() => client);
	}
	return redis;
}

class Refusal extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

function webview_kit_handlers(socket) {
	socket.on(ASK, async (ask) => {
		const id = ask && ask.id;
		try {
			socket.emit(ANSWER, { id, ...(await catchUp(socket, ask)) });
		} catch (error) {
			const status = error instanceof Refusal ? error.status : 503;
			if (status === 503) console.warn(`webview_kit: catch-up not answered: ${error.message}`);
			socket.emit(ANSWER, { id, status, error: error.message });
		}
	});
}

async function catchUp(socket, ask) {
	const { room, after, epoch, ticket } = ask || {};
	if (typeof room !== "string" || !room || room.length > MAX_ROOM) {
		throw new Refusal(417, "Unknown room: rooms are user:<name> or doc:<doctype>/<name>");
	}
	if (!Number.isSafeInteger(after) || after < 0) {
		throw new Refusal(417, "after must be a sequence number: a whole number from 0");
	}
	const site = socket.nsp.name.slice(1); // the namespace is the site (Frappe's authenticate.js)
	const client = await queueRedis();
	const secret = await client.get(TICKET_SECRET);
	if (!secret || !validTicket(secret, site, socket.sid, room, ticket)) {
		throw new Refusal(403, "You cannot follow this room");
	}
	await join(socket, room);
	const answer = await history(client, site, room, after, epoch || "");
	count(client, site, answer);
	return answer;
}

function validTicket(secret, site, sid, room, ticket) {
	if (typeof ticket !== "string" || !sid) return false;
	const expected = crypto.createHmac("sha256", secret).update(`${site}\n${sid}\n${room}`).digest();
	const given = Buffer.from(ticket, "hex");
	return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** Be in `room` before its history is read: a user room is, a document room asks Frappe first. */
async function join(socket, room) {
	if (socket.rooms.has(room)) return;
	const [kind, rest] = [room.slice(0, room.indexOf(":")), room.slice(room.indexOf(":") + 1)];
	const slash = rest.indexOf("/");
	if (kind !== "doc" || slash < 1 || slash === rest.length - 1) {
		throw new Refusal(403, "You cannot follow this room");
	}
	const [doctype, name] = [rest.slice(0, slash), rest.slice(slash + 1)];
	const response = await socket.frappe_request("/api/method/frappe.realtime.has_permission", { doctype, name });
	if (response.status === 401 || response.status === 403) throw new Refusal(403, "You cannot follow this room");
	if (!response.ok) throw new Error(`permission check answered ${response.status}`);
	const { message } = await response.json();
	if (!message) throw new Refusal(403, "You cannot follow this room");
	socket.join(room);
}

/** publish.history(): events after `after`, or a gap flag and the latest snapshot. */
async function history(client, site, room, after, epoch) {
	const base = `${KEY_PREFIX}${site}:${room}`;
	const [meta, latest, entries] = await client
		.multi()
		.hGetAll(`${base}:meta`)
		.hGetAll(`${base}:latest`)
		.xRange(`${base}:stream`, `${after + 1}-0`, "+", { COUNT: CATCH_UP_LIMIT })
		.exec();
	const head = Number(meta.seq || 0);
	const currentEpoch = meta.epoch || "";
	const events = entries.map((entry) => JSON.parse(entry.message.e));
	const restarted = Boolean(epoch) && epoch !== currentEpoch;
	const missing = after < Number(meta.trimmed || 0) || (after < head && !events.length);
	const gap = restarted || missing;
	const answer = { epoch: currentEpoch, head, gap, events: restarted ? [] : events };
	if (gap) {
		answer.snapshot = Object.values(latest)
			.map((envelope) => JSON.parse(envelope))
			.sort((a, b) => a.seq - b.seq);
	}
	return answer;
}

/** metrics.count_catch_up(): the same counters, whichever server answered. */
function count(client, site, answer) {
	const key = `webview_kit:metrics:${site}`;
	client
		.multi()
		.hIncrBy(key, "catch_ups", 1)
		.hIncrBy(key, "events_replayed", answer.events.length)
		.hIncrBy(key, "resyncs", answer.gap ? 1 : 0)
		.exec()
		.catch((error) => console.warn(`webview_kit: metrics not counted: ${error.message}`));
}

module.exports = webview_kit_handlers;
module.exports.useRedis = useRedis;
module.exports.history = history;
