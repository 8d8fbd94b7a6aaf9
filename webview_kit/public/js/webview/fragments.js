// Live fragments: pieces of the page the server renders (webview_kit/fragments.py) and
// pushes as `webview_kit.fragment` events, each an operation on a [data-fragment] target:
//
//   <ul data-fragment="order-lines">…the server's first rendering…</ul>
//
// update (the content), replace (the element), append/prepend (an item keyed by its id:
// one already there is updated in place, so a replayed append is not doubled), remove
// (the target, or its child item by id).
//
// HTML goes in by morphing (idiomorph, 3.4 KB gzipped; the one the htmx and Turbo 8
// projects keep), never by innerHTML: elements that stay the same stay the same nodes, so
// focus, caret, scroll, event listeners and what the user is typing survive an update.
// Each applied operation is a `webviewkit:fragment` event on document ({detail: {target,
// op, id, element, existed}}). When history no longer covers a gap, the page fetches
// itself afresh and morphs every fragment to the server's current rendering.
import { Idiomorph } from "idiomorph";

const MORPH = {
	ignoreActiveValue: true, // the field the user is typing in keeps its value
	callbacks: {
		// a <details> the user opened or closed stays that way
		beforeAttributeUpdated: (name, node) => !(name === "open" && node.localName === "details"),
	},
};

export function mountFragments(kit) {
	kit.on(kit.events.fragment, apply);
	kit.refresh = refresh;
}

export function find(name) {
	return document.querySelector(`[data-fragment="${CSS.escape(name)}"]`);
}

function morph(element, content, morphStyle) {
	Idiomorph.morph(element, content, { ...MORPH, morphStyle });
}

function parse(html) {
	const template = document.createElement("template");
	template.innerHTML = html;
	return template.content.firstElementChild;
}

function child(target, id) {
	return [...target.children].find((element) => element.id === id);
}

export function apply({ target: name, op, html, id }) {
	const target = find(name);
	if (!target) return; // this page does not show that fragment
	let element = target;
	let existed = true;
	if (op === "update") {
		morph(target, html, "innerHTML");
	} else if (op === "replace") {
		const next = parse(html);
		next.dataset.fragment = name; // still the target of later operations
		morph(target, next, "outerHTML");
		element = find(name);
	} else if (op === "append" || op === "prepend") {
		const next = parse(html);
		element = child(target, id);
		existed = Boolean(element);
		if (element) morph(element, next, "outerHTML");
		else target[op]((element = next));
	} else if (op === "remove") {
		element = id ? child(target, id) : target;
		existed = Boolean(element);
		element?.remove();
	}
	document.dispatchEvent(
		new CustomEvent("webviewkit:fragment", { detail: { target: name, op, id, element, existed } }),
	);
}

/** Morph every fragment to the server's rendering now; resolves to the fresh page's room positions. */
async function refresh(signal) {
	const response = await fetch(location.href, {
		credentials: "same-origin",
		headers: { Accept: "text/html" },
		signal,
	});
	if (!response.ok) throw Object.assign(new Error(`${response.status} ${location.pathname}`), { status: response.status });
	const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
	for (const next of fresh.querySelectorAll("[data-fragment]")) {
		const target = find(next.dataset.fragment);
		if (target) morph(target, next.innerHTML, "innerHTML");
	}
	return JSON.parse(fresh.getElementById("wvk-config").textContent).rooms;
}
