// A live list: its rows are the fragment `webview_kit.list_rows:<DocType>` (live.py), one
// item per document the user may read, put in place or removed as documents change.
// This adds what markup cannot say: the row count on the root (data-count, for the empty
// state) and a spoken note of each change in [data-announce].

import { __ } from "./translate.js";

export function mountList(kit, root) {
	const rows = root.querySelector("[data-fragment]");
	const title = (row) => row.querySelector("[data-field]")?.textContent || row.dataset.name;
	const announce = (text) => {
		const region = root.querySelector("[data-announce]");
		if (region) region.textContent = text;
	};
	document.addEventListener("webviewkit:fragment", ({ detail }) => {
		if (detail.target !== rows.dataset.fragment) return;
		if (detail.element && detail.element !== rows) {
			const name = [title(detail.element)];
			if (detail.op === "remove") detail.existed && announce(__("{0} removed", name));
			else announce(detail.existed ? __("{0} changed", name) : __("{0} added", name));
		}
		root.dataset.count = rows.children.length;
	});
	document.addEventListener("webviewkit:resync", () => (root.dataset.count = rows.children.length));
}
