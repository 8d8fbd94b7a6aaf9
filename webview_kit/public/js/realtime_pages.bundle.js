// Realtime that works on Frappe's own web pages (opt-in: Webview Settings, "Realtime on web pages").
//
// On a stock page, `frappe.realtime.on` called in `frappe.ready` is dropped: the ready callback
// runs before website.js creates the socket. This script, loaded after Frappe's web bundle and
// before any ready callback, creates that socket now (lazily connecting, as website.js would),
// keeps reconnecting for as long as the page is open, and wraps `frappe.realtime.on`:
// - events that webview_kit.publish sends to a room the page follows (the user's own room) go
//   through the kit's ordered delivery: caught up from the position the page rendered at and
//   after every reconnect, in order, each once; handlers get the event's data, as stock ones do;
// - any other event (stock `frappe.publish_realtime`) reaches the handler as it arrives.
// `frappe.realtime.off` removes what `on` added, as stock's does: Frappe passes both arguments
// on to socket.io's emitter, so `off(event, handler)` removes that handler's first listing and
// `off(event)` the event's first handler (its `fn` is undefined, like the handler asked for).
import { WebviewKit } from "./webview/realtime.js";

const realtime = frappe.realtime;
const config = JSON.parse(document.getElementById("wvk-realtime").textContent);
const kit = new WebviewKit(config);
window.webviewKit = kit;

realtime.init(window.socketio_port, true);
const socket = realtime.socket;
if (socket) {
	socket.io.reconnectionAttempts(Infinity);
	socket.io.reconnectionDelayMax(4000);
	const stockOn = realtime.on.bind(realtime);
	const relayed = new Set();
	realtime.on = (event, handler) => {
		if (!kit.socket) kit.start(socket);
		kit.on(event, Object.assign((data) => handler(data), { handler }));
		if (relayed.has(event)) return;
		relayed.add(event);
		stockOn(event, (payload) => relay(event, payload));
	};
	realtime.off = (event, handler) => {
		const listed = kit.handlers.get(event) || [];
		const at = listed.findIndex((each) => each.handler === handler || handler === undefined);
		if (at >= 0) kit.off(event, listed[at]);
	};
}

function relay(event, payload) {
	const envelope = payload && typeof payload.seq === "number" && payload.room !== undefined;
	if (envelope && kit.rooms.has(payload.room)) return; // the kit delivers it, in order
	kit.dispatch({ event, data: envelope ? payload.data : payload });
}
