#!/bin/sh
# Installs what podnet needs on a fresh Debian 12 machine (run as root): the Debian packages its lab and tests
# use, the npm dependencies (better-sqlite3 compiles against the machine's Node headers, see .npmrc), the build,
# and the `podnet` command on PATH (npm link).
set -eu
cd "$(dirname "$0")/.."

# ncat (Nmap's client) is for the launcher's tests under both netcats: its nc alternative has priority 40 to
# netcat-openbsd's 50, so nc stays OpenBSD's
packages="iproute2 iptables nftables conntrack util-linux coreutils curl netcat-openbsd ncat socat busybox-static containerd runc containernetworking-plugins awscli"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages:$missing" >&2
    echo "hint: run this script as root, or apt-get install -y$missing" >&2
    exit 1
  fi
  echo "installing Debian packages:$missing" >&2
  apt-get update -qq
  # policy-rc.d-less machines would start containerd as a service; podnet starts its own inside namespaces
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

npm ci --no-fund --no-audit --loglevel=error
npm link --no-fund --no-audit --loglevel=error >/dev/null

# Debian's kubectl 1.20 for the kubectl suites, unpacked into .cache/kubectl/ (never fails the install)
sh scripts/fetch-kubectl.sh
