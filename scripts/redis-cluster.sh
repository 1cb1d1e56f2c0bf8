#!/usr/bin/env bash
# A real local Redis Cluster for the tests: three masters (no replicas) of
# redis-server in cluster mode on free loopback ports, in a temporary
# directory, nothing kept on disk; beside it, one Redis server watched by
# one Sentinel (redis-server --sentinel) for the Sentinel tests.
#
#   scripts/redis-cluster.sh run CMD ARGS...
#       starts them, runs CMD with SWITCHBOARD_TEST_REDIS_CLUSTER set to
#       the three addresses (host:port,host:port,host:port) and
#       SWITCHBOARD_TEST_REDIS_SENTINEL to the Sentinel's (host:port, master
#       name "mymaster"), then stops them all and removes the directory,
#       whatever CMD did; exits with CMD's status.
#   scripts/redis-cluster.sh start     starts one and prints its addresses
#                                      and directory (for a session by hand)
#   scripts/redis-cluster.sh stop DIR  stops the one started in DIR
#
# Needs redis-server and redis-cli (Debian's redis-server package; make
# test installs it through scripts/test-deps.sh).
set -euo pipefail

die() { echo "redis-cluster: $*" >&2; exit 1; }

command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-tools)"

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_ports: three ports P whose cluster bus ports (P+10000) are free
# too, all below the kernel's ephemeral range (a port an outgoing
# connection holds answers no connect but cannot be bound).
pick_ports() {
	local ports=() p tries=0 low
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$low" -gt 21000 ] || low=32768
	while [ "${#ports[@]}" -lt 3 ]; do
		tries=$((tries + 1))
		[ "$tries" -lt 500 ] || die "no free loopback ports found"
		p=$((11000 + RANDOM % (low - 21000)))
		case " ${ports[*]-} " in *" $p "*) continue ;; esac
		if port_free "$p" && port_free $((p + 10000)); then
			ports+=("$p")
		fi
	done
	echo "${ports[@]}"
}

stop_cluster() {
	local dir=$1
	[ -d "$dir" ] || return 0
	for f in "$dir"/*/port; do
		[ -f "$f" ] || continue
		redis-cli -h 127.0.0.1 -p "$(cat "$f")" shutdown nosave >/dev/null 2>&1 || true
	done
	# Wait for each server to be gone (its pid file names it), then remove
	# the directory.
	for f in "$dir"/*/redis.pid; do
		[ -f "$f" ] || continue
		local pid n=0
		pid=$(cat "$f")
		while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
		kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
}

try_start() {
	local dir ports addrs=() p n
	dir=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-redis-cluster.XXXXXX")
	read -r -a ports <<<"$(pick_ports)"
	for p in "${ports[@]}"; do
		mkdir -p "$dir/$p"
		echo "$p" >"$dir/$p/port"
		redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 2000 \
			--save "" --appendonly no --dir "$dir/$p" --daemonize yes \
			--pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log" >/dev/null ||
			{ stop_cluster "$dir"; echo "redis-cluster: redis-server on port $p did not start" >&2; return 1; }
		addrs+=("127.0.0.1:$p")
	done
	for p in "${ports[@]}"; do
		n=0
		until redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1; do
			n=$((n + 1))
			[ "$n" -lt 100 ] || { tail -5 "$dir/$p/redis.log" >&2; stop_cluster "$dir"; echo "redis-cluster: redis-server on port $p does not answer" >&2; return 1; }
			sleep 0.05
		done
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
		{ cat "$dir/create.log" >&2; stop_cluster "$dir"; echo "redis-cluster: redis-cli --cluster create failed" >&2; return 1; }
	# Every node must agree the cluster is up (all 16384 slots served).
	for p in "${ports[@]}"; do
		n=0
		until redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
			n=$((n + 1))
			[ "$n" -lt 200 ] || { stop_cluster "$dir"; echo "redis-cluster: cluster not ok on port $p" >&2; return 1; }
			sleep 0.05
		done
	done
	# One server and a Sentinel that watches it as "mymaster".
	read -r -a ports <<<"$(pick_ports)"
	local master=${ports[0]} sentinel=${ports[1]}
	mkdir -p "$dir/$master" "$dir/$sentinel"
	echo "$master" >"$dir/$master/port"
	echo "$sentinel" >"$dir/$sentinel/port"
	redis-server --port "$master" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir/$master" \
		--daemonize yes --pidfile "$dir/$master/redis.pid" --logfile "$dir/$master/redis.log" >/dev/null ||
		{ stop_cluster "$dir"; echo "redis-cluster: redis-server on port $master did not start" >&2; return 1; }
	printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 1\n' "$sentinel" "$dir/$sentinel" "$master" >"$dir/$sentinel/sentinel.conf"
	redis-server "$dir/$sentinel/sentinel.conf" --sentinel --daemonize yes \
		--pidfile "$dir/$sentinel/redis.pid" --logfile "$dir/$sentinel/redis.log" >/dev/null ||
		{ stop_cluster "$dir"; echo "redis-cluster: redis-server --sentinel on port $sentinel did not start" >&2; return 1; }
	n=0
	until redis-cli -h 127.0.0.1 -p "$sentinel" sentinel get-master-addr-by-name mymaster 2>/dev/null | grep -q "^$master\$"; do
		n=$((n + 1))
		[ "$n" -lt 200 ] || { stop_cluster "$dir"; echo "redis-cluster: Sentinel on port $sentinel does not know mymaster" >&2; return 1; }
		sleep 0.05
	done
	CLUSTER_DIR=$dir
	CLUSTER_ADDRS=$(IFS=,; echo "${addrs[*]}")
	SENTINEL_ADDR=127.0.0.1:$sentinel
}

# start_cluster: try_start, again on other ports when one was taken
# meanwhile (another process bound it between the check and the start).
start_cluster() {
	local try
	for try in 1 2 3; do
		try_start && return 0
		echo "redis-cluster: retrying on other ports" >&2
	done
	die "could not start the cluster (3 tries)"
}

case "${1:-}" in
run)
	shift
	[ "$#" -gt 0 ] || die "usage: $0 run CMD ARGS..."
	start_cluster
	trap 'stop_cluster "$CLUSTER_DIR"' EXIT
	trap 'exit 130' INT TERM
	echo "redis-cluster: three masters at $CLUSTER_ADDRS; Sentinel at $SENTINEL_ADDR (mymaster)" >&2
	set +e
	SWITCHBOARD_TEST_REDIS_CLUSTER=$CLUSTER_ADDRS SWITCHBOARD_TEST_REDIS_SENTINEL=$SENTINEL_ADDR "$@"
	status=$?
	set -e
	exit "$status"
	;;
start)
	start_cluster
	echo "SWITCHBOARD_TEST_REDIS_CLUSTER=$CLUSTER_ADDRS"
	echo "SWITCHBOARD_TEST_REDIS_SENTINEL=$SENTINEL_ADDR"
	echo "stop with: $0 stop $CLUSTER_DIR"
	;;
stop)
	[ -n "${2:-}" ] || die "usage: $0 stop DIR"
	case "$2" in */switchboard-redis-cluster.*) ;; *) die "$2 is not a directory this script made" ;; esac
	stop_cluster "$2"
	;;
*)
	die "usage: $0 run CMD ARGS... | start | stop DIR"
	;;
esac
