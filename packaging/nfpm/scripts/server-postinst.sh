#!/bin/sh
# countersign-server: the service user, the secrets key, and systemd told
# about the unit.
# The service is not started: edit /etc/default/countersign-server, then
#   systemctl enable --now countersign-server
set -e

case "$1" in
abort-upgrade|abort-remove|abort-deconfigure) exit 0 ;;
esac

if ! getent passwd countersign >/dev/null; then
	if command -v adduser >/dev/null 2>&1 && adduser --help 2>&1 | grep -q -- --system; then
		adduser --system --group --quiet --home /var/lib/countersign-server --no-create-home \
			--gecos "Countersign sign-in server" countersign
	else
		getent group countersign >/dev/null || groupadd --system countersign
		useradd --system --gid countersign --home-dir /var/lib/countersign-server --no-create-home \
			--shell /usr/sbin/nologin --comment "Countersign sign-in server" countersign
	fi
fi

# The secrets key (see LoadCredential= in the unit): made once, never
# replaced — the database's secrets open with this key only.
key=/etc/countersign-server/secrets.key
if [ ! -e "$key" ]; then
	install -d -m 0755 /etc/countersign-server
	(umask 077 && head -c 32 /dev/urandom | base64 >"$key.new" && mv "$key.new" "$key")
fi

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	# restart on upgrade only when it was running
	if systemctl is-active --quiet countersign-server.service; then
		systemctl try-restart countersign-server.service || true
	fi
fi
exit 0
