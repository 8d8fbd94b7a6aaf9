// A live list: rows of one DocType, kept as `webview_kit.row` events in the user's room
// say ({doctype, name, action: "upsert"|"remove", row}). The server sends a user only
// rows they may read, and a `remove` when they no longer may.
//
// Markup: <main data-live-list="DocType" data-href="/webview/document?name={name}">
// holding [data-rows] (the rows, each [data-name]), a <template data-row> for new rows
// whose [data-field] elements show row fields, and an optional [data-announce] live region.

import { show } from "./bindings.js";

export function mountList(kit, root) {
	const doctype = root.dataset.liveList;
	const rows = root.querySelector("[data-rows]");
	const template = root.querySelector("template[data-row]");
	let held = null; // events that arrive while the rows are being fetched afresh

	const find = (name) => [...rows.children].find((el) => el.dataset.name === name);
	const count = () => (root.dataset.count = rows.children.length);

	function fill(el, row) {
		el.dataset.name = row.name;
		for (const slot of el.querySelectorAll("[data-field]")) show(slot, row[slot.dataset.field] ?? "");
		const link = el.querySelector("a[href]");
		if (link && root.dataset.href) link.href = root.dataset.href.replace("{name}", encodeURIComponent(row.name));
		return el;
	}

	function title(el) {
		return el.querySelector("[data-field]")?.textContent || el.dataset.name;
	}

	function apply({ name, action, row }) {
		const el = find(name);
		if (action === "remove") {
			if (!el) return;
			el.remove();
			announce(`${title(el)} removed`);
		} else if (el) {
			fill(el, row);
			announce(`${title(el)} changed`);
		} else {
			const added = fill(template.content.firstElementChild.cloneNode(true), row);
			rows.prepend(added);
			announce(`${title(added)} added`);
		}
		count();
	}

	function announce(text) {
		const region = root.querySelector("[data-announce]");
		if (region) region.textContent = text;
	}

	async function refetch() {
		held = [];
		try {
			const fresh = await kit.get("webview_kit.api.list_rows", { doctype });
			const template_row = template.content.firstElementChild;
			rows.replaceChildren(...fresh.map((row) => fill(find(row.name) || template_row.cloneNode(true), row)));
		} finally {
			const later = held;
			held = null;
			later.forEach(apply);
			count();
		}
	}

	kit.on(kit.events.row, (event) => {
		if (event.doctype !== doctype) return;
		if (held) held.push(event);
		else apply(event);
	});
	// Lost history means lost rows too; the latest event alone cannot rebuild a list.
	document.addEventListener("webviewkit:resync", () => refetch().catch((error) => kit.handleFetchError(error)));
	count();
}
