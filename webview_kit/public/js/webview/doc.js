// A live document: its fields follow `webview_kit.doc` through data-bind-* markup;
// this adds the one thing markup cannot say, that the document was deleted (until a
// document of that name is saved again). Only events of its own room (data-room) count.
import { boundTo } from "./bindings.js";

export function mountDoc(kit, root) {
	const state = (value) => (_data, envelope) => boundTo(root, envelope.room) && (root.dataset.state = value);
	kit.on(kit.events.doc_deleted, state("deleted"));
	kit.on(kit.events.doc, state("live"));
}
