#!/bin/sh
# Fetches Debian's kubectl 1.20 (package kubernetes-client) for the kubectl test suites without installing it: on
# machines where another package owns /usr/bin/kubectl (the development machines ship kubectl 1.27–1.33 with the
# Google Cloud SDK), `apt-get download` + `dpkg -x` unpack it into .cache/kubectl/ (gitignored), where
# test/e2e/kubectl-versions.ts finds it. Idempotent; never fails: when the package cannot be fetched (offline, no
# apt), it says why in .cache/kubectl/unavailable, and the tests report the 1.20 run as skipped with that reason.
set -u
cd "$(dirname "$0")/.."
cache=.cache/kubectl
target="$cache/1.20/usr/bin/kubectl"
mkdir -p "$cache"
if [ -x "$target" ]; then
  rm -f "$cache/unavailable"
  exit 0
fi
unavailable() {
  echo "$1" >"$cache/unavailable"
  echo "kubectl 1.20 not fetched: $1 (the kubectl tests will skip their 1.20 run)" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || unavailable "apt-get is not available"
command -v dpkg >/dev/null 2>&1 || unavailable "dpkg is not available"
work=$(mktemp -d) || unavailable "no temporary directory"
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download -q kubernetes-client >"$work/apt.log" 2>&1); }
# a fresh machine may have no package lists yet (install.sh updates them only when it installs something)
if ! download && { [ "$(id -u)" -ne 0 ] || ! apt-get update -qq >"$work/apt.log" 2>&1 || ! download; }; then
  unavailable "apt-get download kubernetes-client failed: $(tail -n 1 "$work/apt.log")"
fi
deb=$(ls "$work"/kubernetes-client_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || unavailable "apt-get download kubernetes-client left no .deb"
rm -rf "$cache/1.20.tmp"
dpkg -x "$deb" "$cache/1.20.tmp" || unavailable "dpkg -x $(basename "$deb") failed"
[ -x "$cache/1.20.tmp/usr/bin/kubectl" ] || unavailable "$(basename "$deb") has no usr/bin/kubectl"
rm -rf "$cache/1.20"
mv "$cache/1.20.tmp" "$cache/1.20"
basename "$deb" >"$cache/1.20/package"
rm -f "$cache/unavailable"
echo "kubectl 1.20 unpacked into $cache/1.20 from $(basename "$deb")" >&2
