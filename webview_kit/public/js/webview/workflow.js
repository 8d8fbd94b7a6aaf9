// The workflow page: the transitions shown follow the document's state, and comments
// arrive live. The state itself is a data-bind-* element, like any field.

export function mountWorkflow(kit, root) {
	const field = root.dataset.stateField;
	const show = (state) => {
		root.dataset.state = state;
		let any = false;
		for (const button of root.querySelectorAll("[data-from]")) {
			button.hidden = button.dataset.from !== state;
			any ||= !button.hidden;
		}
		root.dataset.transitions = any ? "some" : "none";
	};
	show(root.dataset.state);
	kit.on(kit.events.doc, (doc) => field in doc && show(doc[field] || ""));
	const list = root.querySelector("[data-comments]");
	kit.on(kit.events.comment, (comment) => {
		if (list.querySelector(`[data-name="${CSS.escape(comment.name)}"]`)) return;
		const li = document.createElement("li");
		li.dataset.name = comment.name;
		const by = Object.assign(document.createElement("span"), { className: "wvk-comment-by", textContent: comment.by });
		li.append(by, ` ${comment.text}`);
		list.append(li);
	});
}
