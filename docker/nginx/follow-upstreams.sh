#!/bin/sh
# Give nginx the addresses `backend` and `websocket` have now, and again whenever they change.
#
# nginx resolves an upstream's name once, when it loads its config, and will not load a
# config in which a name does not resolve. Compose gives a container that is started again
# (by its restart policy after the program exits, as Frappe's socketio.js does whenever its
# queue Redis drops; by `up` with a new image; by `docker start`) or added (a scale) an
# address that may differ, even one another service just left, and a stopped one none. So
# this writes the upstreams with addresses instead of names: one `server` line for each
# address a name has, or, while it has none (its service is down), an address that refuses
# at once, so that only that upstream answers 502 and the front keeps serving the rest.
#
# The nginx image's entrypoint runs this before nginx starts (after rendering the templates);
# the loop lives on beside nginx and looks every second. `follow-upstreams.sh now` renders
# and reloads once, for a service just started (stack/docker.py).
set -eu
conf=${FOLLOW_UPSTREAMS_CONF:-/etc/nginx/conf.d}
interval=${FOLLOW_UPSTREAMS_INTERVAL:-1}
refused=127.0.0.1:9 # nothing listens on the discard port

# Each config from its copy with names: `server NAME:PORT ...;` once per address of NAME.
# True when a config changed. What nginx loads is compared, not the lookups: a name that
# flaps (a container in a crash loop) between two lookups cannot leave a stale config.
render() {
	changed=false
	for names in "$conf"/*.conf.names; do
		awk -v refused="$refused" '
			/^[ \t]*server[ \t]+[^:; \t]+:/ {
				name = $0
				sub(/^[ \t]*server[ \t]+/, "", name)
				sub(/:.*/, "", name)
				# sorted: the compose DNS answers a scaled service with its addresses in a rotating order
				lookup = "getent hosts " name " | sort"
				found = 0
				while ((lookup | getline entry) > 0) {
					split(entry, fields, /[ \t]+/)
					line = $0
					sub(name ":", fields[1] ":", line)
					print line
					found = 1
				}
				close(lookup)
				if (!found) {
					line = $0
					sub(name ":[0-9]+", refused, line)
					sub(/;$/, "; # " name " does not resolve", line)
					print line
				}
				next
			}
			{ print }
		' "$names" >"${names%.names}.new.$$" || {
			rm -f "${names%.names}.new.$$" # nginx keeps what it has
			continue
		}
		if cmp -s "${names%.names}.new.$$" "${names%.names}"; then
			rm "${names%.names}.new.$$"
		else
			mv "${names%.names}.new.$$" "${names%.names}"
			changed=true
		fi
	done
	"$changed"
}

if [ "${1:-}" = now ]; then
	render || true
	nginx -s reload
	exit 0
fi

for rendered in "$conf"/*.conf; do
	cp "$rendered" "$rendered.names" # as the entrypoint rendered it from the template
done
render || true
(
	while sleep "$interval"; do
		if render; then
			echo "follow-upstreams: upstreams are now:" $(sed -n 's/^[[:space:]]*server[[:space:]]\([^{]*\);.*/\1/p' "$conf"/*.conf) >&2
			nginx -s reload || true
		fi
	done
) &
