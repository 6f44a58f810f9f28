#!/bin/sh
# countersign-server: on purge, the state (database, outbox), the secrets key
# that seals it and the service user go too. On a plain remove they stay.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/countersign-server /var/lib/private/countersign-server
	rm -f /etc/countersign-server/secrets.key
	rmdir /etc/countersign-server 2>/dev/null || true
	if getent passwd countersign >/dev/null; then
		userdel countersign >/dev/null 2>&1 || true
	fi
	if getent group countersign >/dev/null; then
		groupdel countersign >/dev/null 2>&1 || true
	fi
fi
exit 0
