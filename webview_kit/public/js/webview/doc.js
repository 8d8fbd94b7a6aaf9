// A live document: its fields follow `webview_kit.doc` through data-bind-* markup;
// this adds the one thing markup cannot say, that the document was deleted.

export function mountDoc(kit, root) {
	kit.on(kit.events.doc_deleted, () => (root.dataset.state = "deleted"));
}
