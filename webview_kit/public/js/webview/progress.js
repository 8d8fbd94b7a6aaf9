// A job's progress: `webview_kit.progress` events carry the whole state (job, title,
// stages, stage, percent, state, message), so the latest one is all the page needs.
// <main data-live-progress data-job="..."> with data-job set follows that job only.

import { __ } from "./translate.js";

export function mountProgress(kit, root) {
	const pinned = root.dataset.job;
	// The page's policy allows no inline style: the rendered bar gets its width here.
	const bar = root.querySelector("[data-progress=bar]");
	bar.style.setProperty("--value", bar.getAttribute("aria-valuenow"));
	kit.on(kit.events.progress, (progress) => {
		if (pinned && progress.job !== pinned) return;
		const before = root.querySelector("[data-progress=status]").textContent;
		render(root, progress);
		// The stage and the outcome are announced; the ticking percentage is not.
		const now = root.querySelector("[data-progress=status]").textContent;
		if (now !== before) kit.announce?.(now);
	});
}

function render(root, p) {
	const part = (name) => root.querySelector(`[data-progress=${name}]`);
	root.dataset.state = p.state;
	root.dataset.job = p.job;
	part("title").textContent = p.title;
	const bar = part("bar");
	bar.style.setProperty("--value", p.percent);
	bar.setAttribute("aria-valuenow", p.percent);
	part("percent").textContent = `${p.percent}%`;
	part("status").textContent = status(p);
	part("message").textContent = p.message || "";
	const stages = part("stages");
	if (stages.children.length !== p.stages.length) {
		stages.replaceChildren(...p.stages.map(() => document.createElement("li")));
	}
	p.stages.forEach((name, i) => {
		const li = stages.children[i];
		li.textContent = name;
		li.dataset.state = stageState(p, i);
	});
}

function stageState(p, i) {
	if (p.state === "done" || i < p.stage) return "done";
	if (i > p.stage) return "pending";
	return p.state === "failed" ? "failed" : "active";
}

function status(p) {
	const stage = p.stages[p.stage];
	if (p.state === "queued") return __("Waiting to start");
	if (p.state === "done") return __("Done");
	if (p.state === "failed") return __("Failed: {0}", [stage]);
	return __("Step {0} of {1}: {2}", [p.stage + 1, p.stages.length, stage]);
}
