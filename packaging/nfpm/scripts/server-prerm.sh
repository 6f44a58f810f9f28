#!/bin/sh
# countersign-server: stop the service before its binary goes away.
set -e
case "$1" in
remove|purge|0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now countersign-server.service >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
