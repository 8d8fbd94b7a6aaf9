// A live document: its fields follow `webview_kit.doc` through data-bind-* markup;
// this adds what markup cannot say: that the document was deleted (until a document of
// that name is saved again), and, for a screen reader, which fields a save changed (one
// short summary, not the whole list read again). Only events of its own room (data-room) count.
import { boundTo } from "./bindings.js";
import { __ } from "./translate.js";

export function mountDoc(kit, root) {
	const state = (value) => (_data, envelope) => boundTo(root, envelope.room) && (root.dataset.state = value);
	kit.on(kit.events.doc_deleted, state("deleted"));
	kit.on(kit.events.doc, state("live"));
	const fields = [...root.querySelectorAll(".wvk-field")];
	const values = () => fields.map((field) => field.querySelector("dd").textContent);
	let before = values();
	// After every handler of this event has run, bindings included: the fields show the save.
	kit.on(kit.events.doc, (_data, envelope) =>
		boundTo(root, envelope.room) &&
		queueMicrotask(() => {
			const now = values();
			const changed = fields.filter((_, i) => now[i] !== before[i]).map((f) => f.querySelector("dt").textContent);
			before = now;
			if (changed.length) kit.announce?.(__("{0} changed", [changed.join(", ")]));
		}),
	);
}
