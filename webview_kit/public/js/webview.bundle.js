// Everything a webview page runs: one socket (socket.js) with ordered catch-up (realtime.js),
// declarative bindings, actions (data-action), the host-app bridge, presence, and the
// templates' live parts.
//
// Elements with data-bind-event="<event>" data-bind-field="<field>" show that field
// of the event's data; pages can also call `webviewKit.on(event, (data, envelope) => ...)`
// from a <script type="module" src="..."> of their app's assets (it runs after this bundle,
// before the page connects; the page's content security policy runs no other inline script).
import { mountActions } from "./webview/actions.js";
import { announcer } from "./webview/announce.js";
import { bindElements } from "./webview/bindings.js";
import { Bridge } from "./webview/bridge.js";
import { mountDoc } from "./webview/doc.js";
import { mountFragments } from "./webview/fragments.js";
import { mountList } from "./webview/list.js";
import { Presence } from "./webview/presence.js";
import { mountProgress } from "./webview/progress.js";
import { WebviewKit } from "./webview/realtime.js";
import { cacheShell } from "./webview/shell.js";
import { connect } from "./webview/socket.js";
import { setMessages } from "./webview/translate.js";
import { mountWorkflow } from "./webview/workflow.js";

const TEMPLATES = {
	"[data-live-progress]": mountProgress,
	"[data-live-doc]": mountDoc,
	"[data-live-list]": mountList,
	"[data-live-workflow]": mountWorkflow,
};

const config = JSON.parse(document.getElementById("wvk-config").textContent);
setMessages(config.messages);
const kit = new WebviewKit(config);
window.webviewKit = kit;
kit.announce = announcer(document.querySelector("[data-announcer]"));
kit.bridge = new Bridge(kit);
kit.presence = new Presence(kit);
bindElements(kit, document);
mountActions(kit, document);
// A page with live fragments (fragments.js) also renders itself afresh after a gap.
if (document.querySelector("[data-fragment]")) mountFragments(kit);
for (const [selector, mount] of Object.entries(TEMPLATES)) {
	for (const root of document.querySelectorAll(selector)) mount(kit, root);
}

cacheShell(kit.config.shell);

// This bundle is a module script, inlined or not (shell.py): the page's own module scripts
// after it run before DOMContentLoaded, so connecting then means every handler of the page
// is in place before the first event.
function start() {
	kit.start(
		connect(`/${kit.config.site}`, {
			path: "/socket.io",
			reconnectionDelay: 250,
			reconnectionDelayMax: 4000,
			timeout: 20000,
		}),
	);
	kit.bridge.ready();
}
if (document.readyState === "complete") start();
else document.addEventListener("DOMContentLoaded", start, { once: true });
