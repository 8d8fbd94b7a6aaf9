// A live document: its fields follow `webview_kit.doc` through data-bind-* markup;
// this adds what markup cannot say: that the document was deleted, and, for a screen
// reader, which fields a save changed (one short summary, not the whole list read again).
import { __ } from "./translate.js";

export function mountDoc(kit, root) {
	kit.on(kit.events.doc_deleted, () => (root.dataset.state = "deleted"));
	const fields = [...root.querySelectorAll(".wvk-field")];
	const values = () => fields.map((field) => field.querySelector("dd").textContent);
	let before = values();
	// After every handler of this event has run, bindings included: the fields show the save.
	kit.on(kit.events.doc, () =>
		queueMicrotask(() => {
			const now = values();
			const changed = fields.filter((_, i) => now[i] !== before[i]).map((f) => f.querySelector("dt").textContent);
			before = now;
			if (changed.length) kit.announce?.(__("{0} changed", [changed.join(", ")]));
		}),
	);
}
