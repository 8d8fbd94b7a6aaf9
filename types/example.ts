// A page's own script and a host app's message handler, typed: what `tsc --noEmit` checks.
import type { Envelope, HostCommand, PageMessage } from "./webview-kit";

const kit = window.webviewKit;

interface Delivery {
	eta: string;
	stop: string;
}

const onDelivery = (delivery: Delivery, envelope: Envelope<Delivery>) => {
	document.title = `${delivery.eta} · ${envelope.seq}`;
};
kit.on<Delivery>("myapp.delivery", onDelivery);
kit.off<Delivery>("myapp.delivery", onDelivery);
kit.on(kit.events.doc, (doc: { name: string }) => kit.announce(doc.name));

kit.bridge.on("greet", ({ name }: { name: string }) => `hello ${name}`);
kit.act<{ status: string }>("myapp.orders.approve", { name: "SO-0001" }).then((outcome) => outcome.status);

/** What a host does with a message it got: check the version, then the type. */
export function handle(message: PageMessage): string | null {
	if (message.v !== 1) return null;
	if (message.type === "navigate" && "url" in message.payload) return String(message.payload.url);
	return message.type;
}

const theme: HostCommand = { type: "theme", payload: { scheme: "dark" }, id: 1 };
kit.bridge.receive(theme);
