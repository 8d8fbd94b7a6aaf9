// Types of a webview page's `window.webviewKit` and of the native bridge's messages.
// Checked by `tsc --noEmit -p types` (make lint) against types/example.ts.

/** Short names of the events the page's scripts listen for (page.py, EVENTS). */
export interface EventNames {
	count: string;
	session_ended: string;
	doc: string;
	doc_deleted: string;
	fragment: string;
	presence: string;
	progress: string;
	comment: string;
}

/** What the server sends with every event. */
export interface Envelope<T = unknown> {
	seq: number;
	epoch: string;
	room: string;
	event: string;
	ts: number;
	coalesce: boolean;
	data: T;
}

export type RealtimeState = "connecting" | "live" | "reconnecting" | "offline" | "ended";
export type Handler<T = any> = (data: T, envelope: Envelope<T>) => void;

export interface ActOptions {
	/** An id of your own (a retry must reuse it); one is made otherwise. */
	id?: string;
	/** Called while the outcome is unknown and the tap is being sent again. */
	onSending?: () => void;
}

export interface PageConfig {
	site: string;
	user: string;
	csrf_token: string;
	events: EventNames;
	scoped: boolean;
	messages: Record<string, string>;
	rooms: Record<string, { seq: number; epoch: string | null; subscribe: unknown[] | null }>;
}

/** The bridge's protocol version: the `v` of every message. */
export type Protocol = 1;

/** Messages the page posts to the app hosting the WebView. */
export type PageMessage =
	| { v: Protocol; type: "ready"; payload: { route: string; title: string; realtime: RealtimeState } }
	| { v: Protocol; type: "realtime"; payload: { state: RealtimeState } }
	| { v: Protocol; type: "close"; payload: Record<string, never> }
	| { v: Protocol; type: "navigate"; payload: { url: string; route: string; params: Record<string, string> } }
	| { v: Protocol; type: "reply"; payload: { id: string | number; ok: true; result: unknown } }
	| { v: Protocol; type: "reply"; payload: { id: string | number; ok: false; error: string } }
	| { v: Protocol; type: string; payload: Record<string, unknown> };

/** Commands the app sends the page: `webviewKit.bridge.receive(command)`. */
export type HostCommand =
	| { type: "reconnect"; payload?: Record<string, never>; id?: string | number }
	| { type: "reload"; payload?: Record<string, never>; id?: string | number }
	| { type: "theme"; payload: { scheme: "light" | "dark" | "system" }; id?: string | number }
	| { type: string; payload?: unknown; id?: string | number };

export interface Bridge {
	/** "ios", "android", "react-native", or "browser" when there is no host. */
	readonly host: "ios" | "android" | "react-native" | "browser";
	/** Post {v, type, payload} to the host; false when there is none. */
	send(type: string, payload?: Record<string, unknown>): boolean;
	ready(): boolean;
	close(): boolean;
	navigate(url: string, payload?: Record<string, unknown>): boolean;
	/** Handle the host's command `type`; what it returns (or resolves to) is the reply's result. */
	on(type: string, handler: (payload: any, command: HostCommand) => unknown): void;
	receive(command: HostCommand | string): Promise<void>;
}

export interface WebviewKit {
	readonly config: PageConfig;
	readonly events: EventNames;
	readonly state: RealtimeState;
	/** [room, seq] of the applied events, in order. */
	readonly applied: Array<[string, number | string, ...unknown[]]>;
	readonly initial: Record<string, number>;
	bridge: Bridge;
	/** Call `handler` for each event named `event` ("*": every event), in order, once each. */
	on<T = any>(event: string, handler: Handler<T>): void;
	off<T = any>(event: string, handler: Handler<T>): void;
	/** POST a whitelisted method; resolves to its `message`. */
	call<T = unknown>(method: string, args?: Record<string, unknown>, options?: { keepalive?: boolean }): Promise<T>;
	/** GET a whitelisted method; resolves to its `message`. */
	get<T = unknown>(method: string, params?: Record<string, string>): Promise<T>;
	/** Run a webview action exactly once; resolves to its outcome. */
	act<T = unknown>(name: string, args?: Record<string, unknown>, options?: ActOptions): Promise<T>;
	/** Have the page's polite live region say `text` (rate-limited). */
	announce(text: string): void;
	reconnectNow(): void;
}

declare global {
	interface Window {
		webviewKit: WebviewKit;
	}
}
