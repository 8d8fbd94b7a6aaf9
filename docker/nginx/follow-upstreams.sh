#!/bin/sh
# Reload nginx whenever an upstream's name resolves to other addresses.
#
# nginx resolves `server backend:8000` and `server websocket:9000` once, when it loads its
# config. Compose gives a container that is started again (by its restart policy after the
# program exits, as Frappe's socketio.js does whenever its queue Redis drops; by `up` with a
# new image; by `docker start`) or added (a scale) an address that may differ, even one that
# another service just left, so without this the front keeps proxying to where a service was.
# The nginx image's entrypoint runs this before nginx starts; the loop lives on beside it.
set -eu
conf=${FOLLOW_UPSTREAMS_CONF:-/etc/nginx/conf.d}
interval=${FOLLOW_UPSTREAMS_INTERVAL:-1}

addresses() {
	for name in $(sed -n 's/^[[:space:]]*server[[:space:]]\{1,\}\([^:;[:space:]]*\):.*/\1/p' "$conf"/*.conf | sort -u); do
		getent hosts "$name" | sed "s/[[:space:]].*/ $name/"
	done | sort
}

(
	known=$(addresses)
	while sleep "$interval"; do
		now=$(addresses)
		if [ "$now" != "$known" ]; then
			echo "follow-upstreams: upstream addresses are now: $(echo "$now" | tr '\n' ' ')" >&2
			# A name with no address yet fails the reload; nginx then keeps its config until the next change.
			nginx -s reload || true
			known=$now
		fi
	done
) &
