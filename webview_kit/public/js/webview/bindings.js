// Declarative bindings: markup says which event field an element shows.
//
//   <output data-bind-event="myapp.count" data-bind-field="count">0</output>
//
// Modifiers: data-bind-attr="value" sets that attribute instead of the text;
// data-bind-var="--value" sets that CSS custom property instead; data-bind-format=
// "percent" appends "%"; data-bind-state also mirrors the value (lower case) into
// data-state for styling; data-bind-flash briefly highlights a changed value;
// data-bind-announce="Count: {0}" has the page's live region say the new value (announce.js).
// Without data-bind-field the element shows the whole event data as JSON.
// Inside an element with data-room="<room>", only that room's events are shown: a page that
// follows two documents does not show one's fields in the other's place.

const calm = matchMedia("(prefers-reduced-motion: reduce)");

/** Show `value` in `el` as its data-bind-* / data-field modifiers say. */
export function show(el, value) {
	const d = el.dataset;
	const text = value == null ? "" : String(value);
	if (d.bindAttr) el.setAttribute(d.bindAttr, text);
	else if (d.bindVar) el.style.setProperty(d.bindVar, text);
	else {
		const shown = d.bindFormat === "percent" && text !== "" ? `${text}%` : text;
		if (el.textContent === shown) return;
		el.textContent = shown;
		// data-bind-announce="Count: {0}": the page's live region says it, rate-limited.
		if (d.bindAnnounce) window.webviewKit?.announce?.(d.bindAnnounce.replace("{0}", shown));
		if ("bindFlash" in d && !calm.matches) el.animate?.([{ backgroundColor: "var(--flash)" }, {}], 1200);
	}
	if ("bindState" in d) d.state = text.toLowerCase();
}

/** Whether `el` shows events of `room`: those of its data-room, or of every room without one. */
export function boundTo(el, room) {
	const bound = el.closest("[data-room]")?.dataset.room;
	return !bound || bound === room;
}

/** Show each event in the [data-bind-event] elements under `root` that name it, found when
 * it arrives: elements a fragment adds or morphs are bound like the page's own. */
export function bindElements(kit, root) {
	kit.on("*", (data, { event, room }) => {
		for (const el of root.querySelectorAll(`[data-bind-event="${CSS.escape(event)}"]`)) {
			if (!boundTo(el, room)) continue;
			const field = el.dataset.bindField;
			if (field) show(el, data?.[field]);
			else el.textContent = JSON.stringify(data);
		}
	});
}
