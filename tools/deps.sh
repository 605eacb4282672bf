#!/bin/sh
# deps.sh: install the Debian packages listbridge builds, tests and demos
# with, when some are missing.  Needs root (apt-get) only when something is
# missing; prints what it installs.
set -eu

pkgs="build-essential pkg-config libgmime-3.0-dev libpq-dev libsodium-dev
libpcre2-dev libetpan-dev libgumbo-dev libjson-glib-dev check libsubunit-dev
postgresql-15 postgresql-client-15 util-linux libgnutls28-dev python3"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
