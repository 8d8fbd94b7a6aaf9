// Presence: every page holds a lease while it is live (what `live_count()` counts);
// a page with <body data-presence-room="..."> is also among that room's viewers and,
// with a [data-live-presence] element, shows them.
//
// The socket server cannot tell anyone that a page went away, so the page renews its
// lease every third of the lease's length while live, and gives it up when hidden or
// closed. Viewer lists arrive as `webview_kit.presence` events; each has a version, and
// an older list than the one shown is ignored.

import { __ } from "./translate.js";

const JOIN = "webview_kit.api.presence_join";
const LEAVE = "webview_kit.api.presence_leave";

export class Presence {
	constructor(kit) {
		this.kit = kit;
		this.client = randomId();
		this.room = document.body.dataset.presenceRoom || null;
		this.version = -1;
		this.joined = false;
		this.root = document.querySelector("[data-live-presence]");
		this.known = null; // user -> name of the viewers shown, for "X joined" / "X left"
		if (this.room) kit.on(kit.events.presence, (state) => state.room === this.room && this.show(state));
		document.addEventListener("webviewkit:state", ({ detail }) => (detail.state === "live" ? this.join() : this.pause()));
		document.addEventListener("visibilitychange", () => {
			if (document.hidden) this.leave();
			else if (kit.state === "live") this.join();
		});
		addEventListener("pagehide", () => this.leave());
	}

	async join() {
		if (this.joined || document.hidden) return;
		this.joined = true;
		try {
			const state = await this.kit.call(JOIN, { client: this.client, room: this.room });
			if (!this.joined) return; // paused while the answer was on its way
			this.show(state);
			clearInterval(this.timer);
			this.timer = setInterval(() => this.renew(), (state.lease * 1000) / 3);
		} catch (error) {
			this.joined = false;
			this.kit.handleFetchError(error);
		}
	}

	renew() {
		this.kit.call(JOIN, { client: this.client, room: this.room }).catch((error) => this.kit.handleFetchError(error));
	}

	pause() {
		clearInterval(this.timer);
		this.joined = false;
	}

	leave() {
		if (!this.joined) return;
		this.pause();
		this.kit.call(LEAVE, { client: this.client, room: this.room }, { keepalive: true }).catch(() => {});
	}

	show(state) {
		if (!this.root || !state.viewers || state.version <= this.version) return;
		this.version = state.version;
		const me = this.kit.config.user;
		const viewers = state.viewers;
		const others = viewers.filter((v) => v.user !== me);
		const list = this.root.querySelector("[data-presence=list]");
		list.replaceChildren(...viewers.map((viewer) => person(viewer, viewer.user === me)));
		// A crowded room names only some of its viewers and counts the rest.
		if (state.more) list.append(andMore(state.more));
		this.text("summary", summary(others.length + (state.more || 0), viewers.length > others.length));
		const now = new Map(others.map((v) => [v.user, v.name]));
		if (this.known) {
			const joined = [...now].filter(([user]) => !this.known.has(user)).map(([, name]) => __("{0} joined", [name]));
			const left = [...this.known].filter(([user]) => !now.has(user)).map(([, name]) => __("{0} left", [name]));
			if (joined.length || left.length) this.text("activity", [...joined, ...left].join(". "));
		}
		this.known = now;
	}

	text(part, value) {
		this.root.querySelector(`[data-presence=${part}]`).textContent = value;
	}
}

function person(viewer, isMe) {
	const li = document.createElement("li");
	li.dataset.user = viewer.user;
	if (isMe) li.dataset.me = "";
	const avatar = li.appendChild(document.createElement("span"));
	avatar.className = "wvk-avatar";
	avatar.ariaHidden = "true";
	avatar.textContent = viewer.name.slice(0, 1).toUpperCase();
	const name = li.appendChild(document.createElement("span"));
	name.className = "wvk-person";
	name.textContent = isMe ? __("{0} (you)", [viewer.name]) : viewer.name;
	return li;
}

function andMore(count) {
	const li = document.createElement("li");
	li.dataset.presence = "more";
	li.textContent = `and ${count} more`;
	return li;
}

function summary(others, meToo) {
	if (!others) return meToo ? __("Only you are here") : __("Nobody is here");
	const people = others === 1 ? __("1 other person") : __("{0} other people", [others]);
	return meToo ? __("You and {0}", [people]) : people;
}

function randomId() {
	// crypto.randomUUID needs a secure context; a phone on a LAN address may not have one.
	return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
}
