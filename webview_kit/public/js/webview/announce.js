// The page's one polite live region ([data-announcer] in the shell): a short summary of
// what changed, said at most once every few seconds, the latest summary winning. Values
// that tick (a counter, a percentage) and whole blocks (a document's fields) are not live
// regions themselves, or a screen reader would read them out on every change.
export const QUIET_MS = 5000;

export function announcer(region) {
	let pending = null;
	let quiet = false;
	const speak = () => {
		if (pending === null) return void (quiet = false);
		region.textContent = pending;
		pending = null;
		quiet = true;
		setTimeout(speak, QUIET_MS); // a rate limit, not a wait for anything
	};
	return (text) => {
		if (!region || !text) return;
		pending = text;
		if (!quiet) speak();
	};
}
