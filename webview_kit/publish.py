"""Publish ordered, replayable events to webviews over Frappe's realtime channel.

Every event gets the next sequence number of its room and is kept in a bounded,
expiring Redis stream, and is published on Frappe's `events` channel in the same
Lua call, so sequence, history and delivery order can never disagree and a publish
costs one Redis round trip. The channel message has the shape of
`frappe.realtime.emit_via_redis`, so a stock `frappe.realtime.on(event, ...)` consumer
receives the envelope too.

Rooms are Frappe's own: `user:<name>` (every socket of that user joins it on
connect) and `doc:<doctype>/<name>` (joined with `doc_subscribe`); name one with
`Room.of_user(user)` or `Room.of_doc(doctype, name)`, re-exported here.

To publish from your app::

    from webview_kit.publish import Room, publish

    publish(Room.of_user("jane@example.com"), "myapp.progress", {"percent": 40}, coalesce=True)
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

import frappe
import redis

from webview_kit import settings
from webview_kit.infra import metrics, queue_redis
from webview_kit.rooms import Room, RoomError

__all__ = [
	"EVENT_COUNT",
	"EVENT_SESSION_ENDED",
	"Event",
	"PublishError",
	"Room",
	"doc_room",
	"forget",
	"history",
	"publish",
	"publish_many",
	"room_head",
	"user_room",
]

EVENT_COUNT = "webview_kit.count"
EVENT_SESSION_ENDED = "webview_kit.session_ended"
CHANNEL = "events"  # the channel Frappe's socket.io server subscribes to
KEY_PREFIX = "webview_kit:room:"
CATCH_UP_LIMIT = 1000
MAX_SEQ = 2**63  # sequences are Redis integers, and stream ids `<seq>-0`

# Publishes a batch of events in order, counts them in the metrics, and returns their
# sequence numbers.
# KEYS: per event, its room's meta hash, stream and latest hash; then the call's "ran" mark,
# the site's history rooms (a sorted set: room base key by expiry in ms), their sizes (a
# hash) and their total size; last, the metrics hash.
# ARGV: maxlen, ttl, the channel message's opening, the channel, a fresh epoch (taken by a
# room that has none), ts, the metrics field, the bytes a room's stream may hold, the bytes
# all rooms may hold, the mark's lifetime (0: keep none); then per event its room, event
# and data (JSON-encoded) and its coalesce key ('' for none). Each room's keys get their
# expiry once per batch.
# A call that finds its mark already ran (its reply was lost, and this is a retry): it
# returns the sequence numbers it gave then and publishes nothing again.
# Sizes count what is kept, close to what Redis spends on it (MEMORY USAGE, Redis 7): each
# stream entry and latest value (its envelope and an overhead), and per room a stream's
# first node (4 KB), its three keys and its place in the site's sorted set and hash.
_PUBLISH_LUA = """
local ENTRY_OVERHEAD, ROOM_OVERHEAD = 64, 5376
local maxlen, ttl, opening, channel, fresh, ts = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local room_budget, budget = tonumber(ARGV[8]), tonumber(ARGV[9])
local ran, rooms, sizes, total = KEYS[#KEYS - 4], KEYS[#KEYS - 3], KEYS[#KEYS - 2], KEYS[#KEYS - 1]
local mark_ttl, now = tonumber(ARGV[10]), tonumber(ts)
if mark_ttl > 0 then
	local given = redis.call('GET', ran)
	if given then
		local again = {}
		for seq in string.gmatch(given, '%d+') do again[#again + 1] = seq end
		return again
	end
end
local seqs, expiring, epochs, grown = {}, {}, {}, {}
local function forget_size(base)
	local size = tonumber(redis.call('HGET', sizes, base) or 0)
	redis.call('HDEL', sizes, base)
	redis.call('ZREM', rooms, base)
	redis.call('DECRBY', total, size)
end
for i = 0, (#KEYS - 5) / 3 - 1 do
	local meta, stream, latest = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
	local room, event, data, coalesce = unpack(ARGV, 11 + 4 * i, 14 + 4 * i)
	local base = string.sub(meta, 1, -6)
	local epoch = epochs[meta]
	if not epoch then
		-- A room without an epoch is new, or expired or evicted: what it was counted at is gone.
		if redis.call('HSETNX', meta, 'epoch', fresh) == 1 then
			forget_size(base)
			grown[base] = ROOM_OVERHEAD
		end
		epoch = redis.call('HGET', meta, 'epoch')
		epochs[meta] = epoch
	end
	local seq = redis.call('HINCRBY', meta, 'seq', 1)
	local envelope = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '","room":' .. room
		.. ',"event":' .. event .. ',"ts":' .. ts .. ',"coalesce":' .. (coalesce ~= '' and 'true' or 'false')
		.. ',"data":' .. data .. '}'
	local delta = #envelope + ENTRY_OVERHEAD
	-- A coalesced event replaces the previous value of its own key only, never other history.
	if coalesce ~= '' then
		local previous = redis.call('HGET', meta, 'c:' .. coalesce)
		if previous then
			local old = redis.call('XRANGE', stream, previous .. '-0', previous .. '-0')
			if old[1] then
				delta = delta - #old[1][2][2] - ENTRY_OVERHEAD
				redis.call('XDEL', stream, previous .. '-0')
			end
		end
		redis.call('HSET', meta, 'c:' .. coalesce, seq)
	else
		redis.call('HDEL', meta, 'c:' .. event)
	end
	redis.call('XADD', stream, seq .. '-0', 'e', envelope)
	-- Trim the oldest events past the room's length or bytes, and remember the newest trimmed
	-- away, so history() can tell a gap from a coalesced skip.
	local length = redis.call('XLEN', stream)
	local bytes = redis.call('HINCRBY', meta, 'bytes', delta)
	local dropped
	while length > maxlen or (bytes > room_budget and length > 0) do
		local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', math.max(length - maxlen, 8))
		if #oldest == 0 then break end
		for _, entry in ipairs(oldest) do
			if length <= maxlen and (bytes <= room_budget or length == 0) then break end
			redis.call('XDEL', stream, entry[1])
			local size = #entry[2][2] + ENTRY_OVERHEAD
			bytes, length, delta, dropped = bytes - size, length - 1, delta - size, entry[1]
		end
	end
	if dropped then
		redis.call('HSET', meta, 'trimmed', string.sub(dropped, 1, -3), 'bytes', bytes)
	end
	local replaced = redis.call('HSTRLEN', latest, event)
	delta = delta + #envelope - (replaced > 0 and replaced or -ENTRY_OVERHEAD)
	redis.call('HSET', latest, event, envelope)
	grown[base] = (grown[base] or 0) + delta
	expiring[meta], expiring[stream], expiring[latest] = true, true, true
	redis.call('PUBLISH', channel, opening .. '"event":' .. event .. ',"room":' .. room .. ',"message":' .. envelope .. '}')
	seqs[#seqs + 1] = seq
end
for key in pairs(expiring) do redis.call('EXPIRE', key, ttl) end
local expires = now + 1000 * tonumber(ttl)
for base, delta in pairs(grown) do
	redis.call('HINCRBY', sizes, base, delta)
	redis.call('INCRBY', total, delta)
	redis.call('ZADD', rooms, expires, base)
end
-- Forget the sizes of a few rooms that expired since, so the total stays true.
for _, base in ipairs(redis.call('ZRANGEBYSCORE', rooms, '-inf', now, 'LIMIT', 0, 8)) do
	local left = redis.call('PTTL', base .. ':meta')
	if left == -2 then forget_size(base) else redis.call('ZADD', rooms, now + math.max(left, 1000), base) end
end
-- Over the site's budget, the rooms published to longest ago expire early.
local evicted = 0
while tonumber(redis.call('GET', total) or 0) > budget do
	local oldest = redis.call('ZRANGE', rooms, 0, 0)[1]
	if not oldest then break end
	redis.call('UNLINK', oldest .. ':meta', oldest .. ':stream', oldest .. ':latest')
	forget_size(oldest)
	evicted = evicted + 1
end
redis.call('HINCRBY', KEYS[#KEYS], ARGV[7], #seqs)
if evicted > 0 then redis.call('HINCRBY', KEYS[#KEYS], 'history_rooms_evicted', evicted) end
if mark_ttl > 0 then redis.call('SET', ran, table.concat(seqs, ','), 'EX', mark_ttl) end
return seqs
"""
# Deletes a room's keys and its place in the site's history size (KEYS: the room's three
# keys, then the budget's; ARGV: the room's base key); returns how many keys it had.
_FORGET_LUA = """
local size = tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or 0)
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DECRBY', KEYS[6], size)
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
"""
# Events per Lua call: a call blocks Redis while it runs, so a huge batch is cut into calls
# of this size, sent in one round trip.
SCRIPT_BATCH = 500
# Seconds a retried call's "ran" marks outlive its last attempt's start.
RAN_MARK_MARGIN = 60


class PublishError(frappe.ValidationError):
	"""An event could not be published; nothing was sent."""


@dataclass(frozen=True)
class Event:
	"""One event for `publish_many`. `coalesce`: True (latest value wins per event name) or a
	key (latest wins per key, e.g. one per fragment target)."""

	room: str
	event: str
	data: object
	coalesce: bool | str = False

	@property
	def coalesce_key(self) -> str:
		return self.event if self.coalesce is True else (self.coalesce or "")


def user_room(user: str) -> str:
	"""Deprecated: `Room.of_user(user)`; this returns its string, as before."""
	return str(Room.of_user(user))


def doc_room(doctype: str, name: str) -> str:
	"""Deprecated: `Room.of_doc(doctype, name)`; this returns its string, as before."""
	return str(Room.of_doc(doctype, name))


def _keys(room: str) -> list[str]:
	base = f"{KEY_PREFIX}{frappe.local.site}:{room}"
	return [f"{base}:meta", f"{base}:stream", f"{base}:latest"]


def _budget_keys() -> list[str]:
	"""The site's history rooms by expiry, their sizes, and their total size (see _PUBLISH_LUA)."""
	base = f"{KEY_PREFIX}{frappe.local.site}"
	return [f"{base}:rooms", f"{base}:sizes", f"{base}:size"]


def _script():
	if not getattr(frappe.local, "webview_kit_publish_script", None):
		frappe.local.webview_kit_publish_script = queue_redis.connection().register_script(_PUBLISH_LUA)
	return frappe.local.webview_kit_publish_script


def validate_room(room: str | Room) -> str:
	"""Return `room` as a string, or raise PublishError unless it names a room events may go to."""
	try:
		parsed = Room.parse(room)
	except RoomError as e:
		raise PublishError(f"{e}; use Room.of_user(<existing user>) or Room.of_doc(<doctype>, <name>)")
	if not parsed.exists():
		raise PublishError(
			f"Unknown room {str(parsed)[:80]!r}: use Room.of_user(<existing user>) or Room.of_doc(<doctype>, <name>)"
		)
	return str(parsed)


def _encode(event: Event, room_json: str, limit: int) -> list:
	if not event.event or not isinstance(event.event, str):
		raise PublishError("An event needs a non-empty string name")
	try:
		data = json.dumps(event.data, separators=(",", ":"), allow_nan=False)
	except (TypeError, ValueError) as e:
		raise PublishError(f"Event {event.event!r} data is not JSON-serialisable: {e}")
	if len(data) > limit:
		raise PublishError(f"Event {event.event!r} data is {len(data)} bytes, over the {limit}-byte limit")
	return [room_json, json.dumps(event.event), data, event.coalesce_key]


def _batch_args() -> list:
	"""What every event of a batch shares: history length and TTL, the channel, a fresh epoch, ts, budgets."""
	return [
		str(settings.get("history_length")),
		str(settings.get("history_ttl")),
		'{"namespace":' + json.dumps(frappe.local.site) + ",",
		CHANNEL,
		secrets.token_hex(8),
		str(int(time.time() * 1000)),
		metrics.EVENTS_PUBLISHED,
		*(str(n) for n in budgets()),
	]


def budgets() -> tuple[int, int]:
	"""Bytes of history one room's stream may hold, and all rooms of the site together."""
	site = settings.get("history_budget_mb") * 1024 * 1024
	# A room may never fill the site's budget alone, or its own publishes would evict it.
	return min(settings.get("history_room_kb") * 1024, site // 4), site


def publish(
	room: Room | str,
	event: str,
	data: object = None,
	*,
	coalesce: bool | str = False,
	after_commit: bool = False,
	retries: int = 0,
) -> int | None:
	"""Publish one event to `room` and return its sequence number.

	`coalesce=True` marks a latest-value-wins stream (counters, progress): history keeps
	only the newest value of the event and pages may skip straight to it; a string
	(`coalesce="job:42"`) is the key instead, so one event name carries several streams. `after_commit=True` waits for
	the current transaction to commit (and drops the event on rollback); it returns None.
	If Redis is unreachable this raises PublishError, after `retries` further attempts.
	"""
	return publish_many([Event(room, event, data, coalesce)], after_commit=after_commit, retries=retries)[0]


def publish_many(events: list[Event], *, after_commit: bool = False, retries: int = 0) -> list[int | None]:
	"""Publish `events` in order in one Redis round trip; validated all before any is sent."""
	rooms = {}
	for room in {e.room for e in events}:
		name = validate_room(room)
		rooms[room] = (_keys(name), json.dumps(name))
	limit = settings.get("max_payload")
	encoded = [(rooms[e.room][0], _encode(e, rooms[e.room][1], limit)) for e in events]
	shared = _batch_args()
	if after_commit:
		frappe.db.after_commit.add(lambda: _send(encoded, shared, retries))
		return [None] * len(events)
	return _send(encoded, shared, retries)


def _backoff(attempt: int) -> float:
	return min(0.1 * 2**attempt, 2)


def _send(encoded: list, shared: list, retries: int) -> list[int]:
	"""Run the publish script over `encoded` in one round trip (EVALSHA, no SCRIPT EXISTS first).

	With retries, each chunk's call carries an id the script remembers once it ran, so a
	retry after a lost reply returns the same sequence numbers and publishes nothing twice.
	"""
	chunks = [encoded[i : i + SCRIPT_BATCH] for i in range(0, len(encoded), SCRIPT_BATCH)]
	counted = metrics.key()
	call = f"{KEY_PREFIX}{frappe.local.site}:ran:{secrets.token_hex(12)}"
	mark_ttl = RAN_MARK_MARGIN + int(sum(_backoff(a) for a in range(retries))) if retries else 0
	shared = [*shared, str(mark_ttl)]
	for attempt in range(retries + 1):
		try:
			connection = queue_redis.connection()
			script = _script()
			try:
				return _evalsha(connection, script.sha, chunks, shared, counted, call)
			except redis.exceptions.NoScriptError:  # a restarted Redis forgot it: nothing ran
				script.sha = connection.script_load(_PUBLISH_LUA)
				return _evalsha(connection, script.sha, chunks, shared, counted, call)
		except redis.exceptions.ConnectionError as e:
			if attempt == retries:
				# An earlier attempt may have run before its reply was lost; its mark kept it once.
				ran = f"after {retries + 1} attempts each event was published once or not at all"
				raise PublishError(
					f"Redis is unreachable, {ran if retries else 'nothing was published'}: {e}"
				)
			time.sleep(_backoff(attempt))
	raise AssertionError("unreachable")


def _evalsha(
	connection: redis.Redis, sha: str, chunks: list, shared: list, counted: str, call: str
) -> list[int]:
	calls, budget = [], _budget_keys()
	for n, chunk in enumerate(chunks):
		keys = [*(key for event_keys, _args in chunk for key in event_keys), f"{call}:{n}", *budget, counted]
		args = [*shared, *(arg for _keys, event_args in chunk for arg in event_args)]
		calls.append((sha, len(keys), *keys, *args))
	if len(calls) == 1:  # the usual case: no pipeline to build and unwind
		return [int(seq) for seq in connection.evalsha(*calls[0])]
	pipe = connection.pipeline(transaction=False)
	for call in calls:
		pipe.evalsha(*call)
	return [int(seq) for seqs in pipe.execute() for seq in seqs]


def forget(room: str | Room) -> bool:
	"""Delete `room`'s sequence, history and latest values, as expiry would; say if it had any.

	Pages still open on the room find a new epoch on their next event and resync.
	"""
	keys = _keys(str(Room.parse(room)))
	try:
		forget_room = queue_redis.connection().register_script(_FORGET_LUA)
		return bool(forget_room(keys=[*keys, *_budget_keys()], args=[keys[0][: -len(":meta")]]))
	except redis.exceptions.ConnectionError as e:
		raise PublishError(f"Redis is unreachable, nothing was forgotten: {e}")


def room_head(room: str | Room) -> dict:
	"""The room's current sequence, epoch and latest envelope per event, read atomically."""
	meta, latest = _read(room, with_stream=False)[:2]
	return {
		"seq": int(meta.get(b"seq", 0)),
		"epoch": meta.get(b"epoch", b"").decode(),
		"latest": {json.loads(k): json.loads(v) for k, v in latest.items()},
	}


def history(room: str | Room, after: int, epoch: str | None = None) -> dict:
	"""Events of `room` after sequence `after`, or a gap flag and a snapshot if history lost some.

	A different `epoch` means the room's counters restarted (Redis lost its data), so the
	caller's `after` means nothing any more and it gets a gap too.
	"""
	if not isinstance(after, int) or not 0 <= after < MAX_SEQ:
		raise PublishError(f"after must be a sequence number: a whole number from 0 to {MAX_SEQ - 1}")
	meta, latest, entries = _read(room, with_stream=True, after=after)
	head = int(meta.get(b"seq", 0))
	current_epoch = meta.get(b"epoch", b"").decode()
	events = [json.loads(fields[b"e"]) for _id, fields in entries]
	restarted = bool(epoch) and epoch != current_epoch
	missing = after < int(meta.get(b"trimmed", 0)) or (after < head and not events)
	gap = restarted or missing
	result = {"epoch": current_epoch, "head": head, "gap": gap, "events": [] if restarted else events}
	if gap:
		result["snapshot"] = sorted((json.loads(v) for v in latest.values()), key=lambda e: e["seq"])
	return result


def _read(room: str, with_stream: bool, after: int = 0) -> tuple:
	meta_key, stream_key, latest_key = _keys(str(room))
	try:
		pipe = queue_redis.connection().pipeline(transaction=True)
		pipe.hgetall(meta_key)
		pipe.hgetall(latest_key)
		if with_stream:
			pipe.xrange(stream_key, min=f"{after + 1}-0", max="+", count=CATCH_UP_LIMIT)
		return tuple(pipe.execute())
	except redis.exceptions.ConnectionError as e:
		raise PublishError(f"Redis is unreachable: {e}")
