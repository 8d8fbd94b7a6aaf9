// Actions: markup that runs a server action (webview_kit/actions.py), each tap exactly once.
//
//   <button data-action="myapp.orders.approve" data-args='{"name": "SO-0001"}'>Approve</button>
//   <form data-action="myapp.orders.comment"> (its fields are the arguments) </form>
//   webviewKit.act("myapp.orders.approve", {name: "SO-0001"}) from a page's own script
//
// Each tap gets an id made here; the server runs an id once and answers a retry with the
// first outcome. So a request whose fate is unknown (no answer, a gateway error, offline)
// is sent again with the same id, with backoff, and the control says "Sending…" meanwhile;
// only the server's own refusal is shown as an error. A tap still without its answer is kept
// in sessionStorage: a page reloaded meanwhile sends it again with the same id, so the reload
// does not run it twice either (webviewkit:acted on document, detail.resumed, says it ended).
// While running, the control is
// disabled, aria-busy and `.wvk-pending`; its state is in data-action-state
// (pending|sending|done|error); its message goes to the nearest [data-action-status].
// What an action changes reaches the page the way every change does: through its rooms. (A
// page still reconnecting gets it in its catch-up, which waits until the socket is in its
// rooms: realtime.js.)

import { __ } from "./translate.js";

const ACT = "/api/method/webview_kit.api.act";
const UNKNOWN_FATE = new Set([408, 425, 429, 502, 503, 504]);
const SENDING = "Sending…";
const PENDING = "wvk-pending-actions"; // sessionStorage: {id: {name, args, page}} still unanswered

export function newId() {
	return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function mountActions(kit, root) {
	kit.act = (name, args = {}, { id = newId(), onSending } = {}) => act(kit, name, args, id, onSending);
	for (const [id, { name, args, page }] of Object.entries(pending())) {
		if (page !== here()) continue;
		const done = (result) => signalActed(document, { name, result, id, resumed: true });
		kit.act(name, args, { id }).then(done, () => {}); // a refusal now has no control to show it on
	}
	root.addEventListener("click", (event) => {
		const button = event.target.closest("button[data-action]");
		if (!button) return;
		event.preventDefault();
		run(kit, button, button.dataset.action, JSON.parse(button.dataset.args || "{}"));
	});
	root.addEventListener("submit", (event) => {
		const form = event.target.closest("form[data-action]");
		if (!form) return;
		event.preventDefault();
		run(kit, form, form.dataset.action, formArgs(form));
	});
}

async function act(kit, name, args, id, onSending) {
	remember(id, { name, args, page: here() });
	try {
		return await send(kit, name, args, id, onSending);
	} finally {
		remember(id, null);
	}
}

async function send(kit, name, args, id, onSending) {
	for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
		if (navigator.onLine !== false) {
			let response = null;
			try {
				response = await fetch(ACT, {
					method: "POST",
					credentials: "same-origin",
					headers: {
						Accept: "application/json",
						"Content-Type": "application/json",
						"X-Frappe-CSRF-Token": kit.config.csrf_token,
					},
					body: JSON.stringify({ action: name, args, id }),
				});
			} catch {} // no answer: the request may or may not have run
			if (response && !UNKNOWN_FATE.has(response.status)) {
				const body = await response.json().catch(() => ({}));
				if (response.ok) return body.message.result;
				throw Object.assign(new Error(refusal(body, response.status)), { status: response.status });
			}
		}
		onSending?.();
		await wake(delay);
	}
}

function here() {
	return location.pathname + location.search;
}

function pending() {
	try {
		return JSON.parse(sessionStorage.getItem(PENDING)) || {};
	} catch {
		return {}; // storage off (a private mode) or unreadable: nothing to resume
	}
}

/** Keep `entry` as invocation `id`'s, or forget it (null) once the server answered. */
function remember(id, entry) {
	const all = pending();
	if (entry) all[id] = entry;
	else delete all[id];
	try {
		sessionStorage.setItem(PENDING, JSON.stringify(all));
	} catch {} // full or off: only a reload's retry is lost, as before
}

function signalActed(target, detail) {
	target.dispatchEvent(new CustomEvent("webviewkit:acted", { bubbles: true, detail }));
}

// After `delay`, or sooner when the device is back online or the page reconnects.
function wake(delay) {
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			removeEventListener("online", done);
			document.removeEventListener("webviewkit:state", live);
			resolve();
		};
		const live = (event) => event.detail.state === "live" && done();
		const timer = setTimeout(done, navigator.onLine === false ? 30_000 : delay * (0.5 + Math.random()));
		addEventListener("online", done);
		document.addEventListener("webviewkit:state", live);
	});
}

function refusal(body, status) {
	try {
		const first = JSON.parse(JSON.parse(body._server_messages)[0]);
		if (first.message) return plain(first.message);
	} catch {}
	if (body.exception) return plain(String(body.exception).replace(/^[\w.]+: /, ""));
	return status === 403 ? __("You may not do this here.") : __("The server refused this ({0}).", [status]);
}

function plain(html) {
	return new DOMParser().parseFromString(html, "text/html").body.textContent.trim();
}

async function run(kit, control, name, args) {
	if (control.getAttribute("aria-busy") === "true") return;
	const status = statusFor(control);
	const say = (state, text) => {
		control.dataset.actionState = status.dataset.state = state;
		status.textContent = text;
	};
	busy(control, true);
	say("pending", "");
	try {
		const result = await kit.act(name, args, { onSending: () => say("sending", __(SENDING)) });
		say("done", "");
		if (control.tagName === "FORM") control.reset();
		signalActed(control, { name, result });
	} catch (error) {
		say("error", error.message);
	} finally {
		busy(control, false);
	}
}

function busy(control, on) {
	control.setAttribute("aria-busy", String(on));
	control.classList.toggle("wvk-pending", on);
	const controls = control.tagName === "FORM" ? control.querySelectorAll("button, textarea, input:not([type=hidden])") : [control];
	for (const el of controls) el.disabled = on;
}

function statusFor(control) {
	for (let el = control; el; el = el.parentElement) {
		const found = el.querySelector("[data-action-status]");
		if (found) return found;
	}
	const made = Object.assign(document.createElement("p"), { role: "status" });
	made.dataset.actionStatus = "";
	control.after(made);
	return made;
}

function formArgs(form) {
	const args = {};
	for (const el of form.elements) {
		if (!el.name || el.disabled) continue;
		if (el.type === "checkbox") args[el.name] = el.checked;
		else if (el.type === "number") args[el.name] = el.value === "" ? null : Number(el.value);
		else if (el.type !== "radio" || el.checked) args[el.name] = el.value;
	}
	return args;
}
