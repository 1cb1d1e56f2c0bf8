#!/usr/bin/env bash
# The real-PBX tier's lab: fetches Asterisk from Debian's archive into a
# private folder (nothing is installed into the system), installs the SIP
# phone (baresip-core) and the SIP trunk (sip-tester, SIPp) from the
# machine's own Debian suite when missing, and runs the real-PBX tests.
#
#   bash scripts/asterisk-lab.sh fetch   # download + unpack only; prints the root
#   bash scripts/asterisk-lab.sh test    # fetch, then go test the real-PBX tier
#
# ASTERISK_VER=22 (default; Debian's sid suite, started through sid's own
# loader because it needs a newer C library) or 16 (bullseye-security).
# The mirror is the one this machine's apt already uses: never a host name
# written here. SWITCHBOARD_SKIP_REAL_PBX=1 skips the tier (and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOTDIR=$PWD
VER=${ASTERISK_VER:-22}
CACHE=${SWITCHBOARD_ASTERISK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/asterisk$VER}

if [ "${SWITCHBOARD_SKIP_REAL_PBX:-}" = 1 ]; then
  echo "real-PBX tier: NOT RUN (SWITCHBOARD_SKIP_REAL_PBX=1): the Asterisk driver was not tested against a real Asterisk"
  exit 0
fi

fail() {
  echo "real-PBX tier: FAILED: $*" >&2
  echo "real-PBX tier: it needs apt-get to reach this machine's Debian mirror (sid for Asterisk 22, bullseye-security for 16)," >&2
  echo "  and baresip-core + sip-tester from the machine's own suite. Fix the network or apt sources, or set" >&2
  echo "  SWITCHBOARD_SKIP_REAL_PBX=1 to skip the tier knowingly (make test then says it did not run)." >&2
  exit 1
}

mirror() {
  local m=""
  [ -f /etc/apt/sources.list.d/debian.sources ] && m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -n "$m" ] || { [ -f /etc/apt/sources.list ] && m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list); }
  [ -n "$m" ] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  echo "$m"
}

fetch() {
  if [ -x "$CACHE/root/usr/sbin/asterisk" ] && [ -f "$CACHE/ok" ]; then return 0; fi
  local M; M=$(mirror)
  rm -rf "$CACHE"; mkdir -p "$CACHE"/apt/{lists/partial,cache/archives/partial} "$CACHE/dl" "$CACHE/root"
  local PKGS
  if [ "$VER" = 16 ]; then
    printf 'deb %s bullseye main\ndeb %s-security bullseye-security main\n' "$M" "$M" > "$CACHE/apt/sources.list"
    PKGS="asterisk asterisk-modules asterisk-config libssl1.1"
  else
    echo "deb $M sid main" > "$CACHE/apt/sources.list"
    PKGS="asterisk asterisk-modules asterisk-config libc6 libxml2-16 liburiparser1 libjansson4 libxslt1.1 libjwt2"
  fi
  local O=(-o "Dir::Etc::sourcelist=$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
    -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache" -o Dir::State::status=/var/lib/dpkg/status)
  apt-get "${O[@]}" update -qq >"$CACHE/apt.log" 2>&1 || fail "apt-get update of the private Asterisk sources failed (see $CACHE/apt.log)"
  (cd "$CACHE/dl" && apt-get "${O[@]}" download $PKGS >>"$CACHE/apt.log" 2>&1) || fail "apt-get download $PKGS failed (see $CACHE/apt.log)"
  if [ "$VER" = 16 ]; then (cd "$CACHE/dl" && apt-get download liburiparser1 >>"$CACHE/apt.log" 2>&1) || fail "apt-get download liburiparser1 failed"; fi
  for f in "$CACHE"/dl/*.deb; do dpkg -x "$f" "$CACHE/root"; done
  [ -x "$CACHE/root/usr/sbin/asterisk" ] || fail "the downloaded packages hold no usr/sbin/asterisk"
  touch "$CACHE/ok"
}

tools() {
  local need=()
  command -v baresip >/dev/null || need+=(baresip-core)
  command -v sipp >/dev/null || need+=(sip-tester)
  if [ ${#need[@]} -gt 0 ]; then
    echo "real-PBX tier: installing ${need[*]} from Debian packages"
    local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || fail "apt-get install ${need[*]} failed"
  fi
}

case "${1:-test}" in
fetch)
  fetch; echo "$CACHE/root" ;;
test)
  fetch; tools
  export SWITCHBOARD_ASTERISK_ROOT="$CACHE/root" SWITCHBOARD_ASTERISK_VER="$VER"
  # -v so the log shows which Asterisk version this run used.
  go test -count=1 -race -v -run 'TestReal' ./pbx/asterisk/ ./cmd/switchboard/ | grep -E -v '^\s+\[|audio=' ;;
*)
  echo "usage: $0 fetch|test" >&2; exit 2 ;;
esac
