#!/usr/bin/env bash
# strait benchmark: the two-sidecar path (load generator -> hop A -> mTLS -> hop B -> app) through
# strait, HAProxy and nginx, side by side in one run, plus the HTTP parser micro-benchmarks.
# Writes bench/results/latest.md and prints it.
#
#   ./bench/run-bench.sh            (after `make build` and `./scripts/install-deps.sh --bench`)
#
# Everything runs on 127.0.0.1, on ports picked free at run time, from a temporary directory that is
# removed at exit (STRAIT_BENCH_KEEP=1 keeps it). Every process started here is stopped at exit.
# Environment knobs (defaults are the figures the targets are defined with):
#   BENCH_DURATION=10   seconds of each measured run (throughput and fixed-rate latency)
#   BENCH_WARMUP=2      seconds of closed-loop warm-up per path before its throughput run
#   BENCH_RATE=1000     total req/s of the fixed-rate latency run (spread over BENCH_RATE_CONNS)
#   BENCH_RATE_CONNS=4  connections of the fixed-rate latency run
#   BENCH_ROUNDS=5      the measured seconds of each path are split into this many interleaved rounds
#   STRAIT_BENCH_STRICT=1  exit 1 when a target is missed (default: exit 0 once the run completes)
# shellcheck disable=SC2317  # cleanup() and mine() run from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${STRAIT_BIN_DIR:-$ROOT/build/bin}"
PROXY_BIN="$BIN_DIR/strait-proxy"
MICRO_BIN="$BIN_DIR/http_parser_bench"
RESULTS_DIR="$ROOT/bench/results"
REPORT="$RESULTS_DIR/latest.md"

DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
RATE="${BENCH_RATE:-1000}"
RATE_CONNS="${BENCH_RATE_CONNS:-4}"
ROUNDS="${BENCH_ROUNDS:-5}"
CONNS=32
TRUST_DOMAIN="cluster.local"
APP_ID="spiffe://$TRUST_DOMAIN/ns/default/sa/app"
CLIENT_ID="spiffe://$TRUST_DOMAIN/ns/default/sa/bench-client"
PEER_DNS="app.default.svc.cluster.local"   # DNS name the peers' hop-B cert carries (nginx/HAProxy verify it)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

for tool in haproxy nginx wrk h2load curl openssl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing: run ./scripts/install-deps.sh --bench"
done
[[ -x "$PROXY_BIN" ]] || die "$PROXY_BIN is not built: run make build"
[[ -x "$MICRO_BIN" ]] || die "$MICRO_BIN is not built: run make build (STRAIT_BENCH=ON)"

# Proxies and tools must not route loopback traffic through a proxy from the environment.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

WORK="$(mktemp -d /tmp/strait-bench.XXXXXX)"
# nginx workers may run as an unprivileged user when started as root: let them traverse WORK.
chmod 711 "$WORK"
mkdir -p "$WORK/pki" "$WORK/res" "$WORK/logs"

PIDS=()  # every long-running process started here
mine() {  # mine PID: true while PID is still a child of this script (not exited, not reused)
  [[ -r /proc/$1/stat ]] || return 1
  local ppid
  ppid="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '$1 != "Z" {print $2}')"
  [[ "$ppid" == "$$" ]]
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do if mine "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi; done
  local deadline=$((SECONDS + 5))
  for pid in "${PIDS[@]}"; do
    while mine "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if mine "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "${STRAIT_BENCH_KEEP:-}" ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------
# Ports: bind them all at once (so they are distinct), then release them for the servers.
read -r P_ORIGIN P_SA_UP P_SA_OUT P_SA_IN P_SA_ADMIN P_SB_OUT P_SB_IN P_SB_ADMIN \
        P_HA_A P_HA_B P_NG_A P_NG_B < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(12):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
)

# ------------------------------------------------------------------------------------------------
# PKI: an ECDSA P-256 CA and leaves, as in test/e2e/harness.py.
PKI="$WORK/pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" \
  -out "$PKI/ca.crt" -days 2 -subj "/O=strait-bench/CN=bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  >/dev/null 2>&1
SERIAL=1000
issue() {  # issue NAME SAN
  local name=$1 san=$2
  SERIAL=$((SERIAL + 1))
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$san" >"$PKI/$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$name.key" \
    -out "$PKI/$name.csr" -subj "/O=strait-bench" >/dev/null 2>&1
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "$SERIAL" \
    -days 1 -out "$PKI/$name.crt" -extfile "$PKI/$name.ext" >/dev/null 2>&1
  cat "$PKI/$name.crt" "$PKI/$name.key" >"$PKI/$name.pem"  # HAProxy wants cert and key in one file
}
issue strait-a "URI:$CLIENT_ID"
issue strait-b "URI:$APP_ID"
issue peer-client "URI:$CLIENT_ID"
issue peer-server "URI:$APP_ID,DNS:$PEER_DNS"
chmod 644 "$PKI"/*

# ------------------------------------------------------------------------------------------------
# Configurations.
nginx_common() {  # nginx_common NAME: main-context lines shared by every nginx instance
  cat <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $WORK/$1.pid;
error_log $WORK/logs/$1.log warn;
events { worker_connections 4096; }
EOF
}
nginx_http_common() {  # nginx_http_common NAME
  cat <<EOF
  access_log off;
  client_body_temp_path $WORK/$1-tmp/body;
  proxy_temp_path $WORK/$1-tmp/proxy;
  fastcgi_temp_path $WORK/$1-tmp/fastcgi;
  uwsgi_temp_path $WORK/$1-tmp/uwsgi;
  scgi_temp_path $WORK/$1-tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
EOF
}

# The app: nginx with one worker answering a fixed 2-byte body.
{
  nginx_common origin
  echo "http {"
  nginx_http_common origin
  cat <<EOF
  server {
    listen 127.0.0.1:$P_ORIGIN backlog=4096;
    location / { return 200 "ok"; }
  }
}
EOF
} >"$WORK/origin.conf"

# strait: sidecar B serves the app over mTLS; sidecar A binds a local port to the app service.
cat >"$WORK/strait-b.yaml" <<EOF
workload:
  name: "app-v1"
  namespace: "default"
  serviceAccount: "app"
  labels:
    app: "app"
listeners:
  outbound: "127.0.0.1:$P_SB_OUT"
  inbound: "127.0.0.1:$P_SB_IN"
  admin: "127.0.0.1:$P_SB_ADMIN"
tls:
  certificateChain: "$PKI/strait-b.crt"
  privateKey: "$PKI/strait-b.key"
  trustBundle: "$PKI/ca.crt"
concurrency: 1
inbound:
  - name: "app"
    port: 8080
    protocol: "http"
    targetPort: $P_ORIGIN
EOF
cat >"$WORK/strait-a.yaml" <<EOF
workload:
  name: "bench-client"
  namespace: "default"
  serviceAccount: "bench-client"
  labels:
    app: "bench-client"
listeners:
  outbound: "127.0.0.1:$P_SA_OUT"
  inbound: "127.0.0.1:$P_SA_IN"
  admin: "127.0.0.1:$P_SA_ADMIN"
tls:
  certificateChain: "$PKI/strait-a.crt"
  privateKey: "$PKI/strait-a.key"
  trustBundle: "$PKI/ca.crt"
concurrency: 1
services:
  - name: "app"
    ports:
      - port: 8080
        protocol: "http"
    endpoints:
      - address: "127.0.0.1:$P_SB_IN"
        identity: "$APP_ID"
upstreams:
  - listen: "127.0.0.1:$P_SA_UP"
    service: "app:8080"
EOF

# HAProxy: hop A takes plain HTTP/1.1 and forwards over TLS 1.3 with a client certificate, verifying
# hop B's certificate and name; hop B requires and verifies a client certificate.
haproxy_common() {
  cat <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
EOF
}
{
  haproxy_common
  cat <<EOF
frontend hop_a
  bind 127.0.0.1:$P_HA_A
  default_backend hop_b
backend hop_b
  server hop_b 127.0.0.1:$P_HA_B ssl ssl-min-ver TLSv1.3 verify required ca-file $PKI/ca.crt verifyhost $PEER_DNS crt $PKI/peer-client.pem pool-max-conn 64
EOF
} >"$WORK/haproxy-a.cfg"
{
  haproxy_common
  cat <<EOF
frontend hop_b
  bind 127.0.0.1:$P_HA_B ssl crt $PKI/peer-server.pem ca-file $PKI/ca.crt verify required ssl-min-ver TLSv1.3
  default_backend app
backend app
  server app 127.0.0.1:$P_ORIGIN pool-max-conn 64
EOF
} >"$WORK/haproxy-b.cfg"

# nginx: the same two hops; HTTP/1.1 keep-alive to both upstreams.
{
  nginx_common nginx-a
  echo "http {"
  nginx_http_common nginx-a
  cat <<EOF
  upstream hop_b {
    server 127.0.0.1:$P_NG_B;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$P_NG_A backlog=4096;
    location / {
      proxy_pass https://hop_b;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_certificate $PKI/peer-client.crt;
      proxy_ssl_certificate_key $PKI/peer-client.key;
      proxy_ssl_trusted_certificate $PKI/ca.crt;
      proxy_ssl_verify on;
      proxy_ssl_verify_depth 2;
      proxy_ssl_name $PEER_DNS;
      proxy_ssl_session_reuse on;
    }
  }
}
EOF
} >"$WORK/nginx-a.conf"
{
  nginx_common nginx-b
  echo "http {"
  nginx_http_common nginx-b
  cat <<EOF
  upstream app {
    server 127.0.0.1:$P_ORIGIN;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$P_NG_B ssl backlog=4096;
    ssl_protocols TLSv1.3;
    ssl_certificate $PKI/peer-server.crt;
    ssl_certificate_key $PKI/peer-server.key;
    ssl_client_certificate $PKI/ca.crt;
    ssl_verify_client on;
    ssl_verify_depth 2;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
} >"$WORK/nginx-b.conf"

# ------------------------------------------------------------------------------------------------
# Start everything.
declare -A PID_OF        # process name -> pid started here
declare -A HOP_PIDS      # hop name -> space-separated pids whose RSS is that hop's (nginx: master + worker)
start() {  # start NAME COMMAND...: background, output to logs/NAME.out
  local name=$1; shift
  "$@" >"$WORK/logs/$name.out" 2>&1 &
  PID_OF[$name]=$!
  PIDS+=("$!")
}
show_log() {  # show_log NAME: the end of a process's output and log, on stderr
  local f
  for f in "$WORK/logs/$1.out" "$WORK/logs/$1.log"; do
    [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  return 0
}
wait_port() {  # wait_port NAME PORT
  local name=$1 port=$2 deadline=$((SECONDS + 10))
  until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null; do
    kill -0 "${PID_OF[$name]}" 2>/dev/null || { show_log "$name"; die "$name exited at start"; }
    ((SECONDS < deadline)) || die "$name did not listen on $port"
    sleep 0.05
  done
}
wait_ready_strait() {  # wait_ready_strait NAME ADMIN_PORT
  local name=$1 port=$2 deadline=$((SECONDS + 10))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz/ready" 2>/dev/null)" == 200 ]]; do
    kill -0 "${PID_OF[$name]}" 2>/dev/null || { show_log "$name"; die "$name exited at start"; }
    ((SECONDS < deadline)) || { show_log "$name"; die "$name not ready"; }
    sleep 0.05
  done
}
nginx_worker_pids() {  # children of an nginx master started here
  local master=$1 pids="" deadline=$((SECONDS + 5))
  while [[ -z "$pids" ]] && ((SECONDS < deadline)); do
    pids="$(ps -o pid= --ppid "$master" | tr -s ' \n' ' ' | sed 's/^ //;s/ $//')"
    [[ -n "$pids" ]] || sleep 0.05
  done
  echo "$pids"
}

for n in origin nginx-a nginx-b; do mkdir -p "$WORK/$n-tmp"; done

log "work dir $WORK"
start origin nginx -p "$WORK/origin-tmp" -c "$WORK/origin.conf" -e "$WORK/logs/origin.log"
wait_port origin "$P_ORIGIN"
start strait-b "$PROXY_BIN" --bootstrap "$WORK/strait-b.yaml" --concurrency 1
start strait-a "$PROXY_BIN" --bootstrap "$WORK/strait-a.yaml" --concurrency 1
start haproxy-b haproxy -db -f "$WORK/haproxy-b.cfg"
start haproxy-a haproxy -db -f "$WORK/haproxy-a.cfg"
start nginx-b nginx -p "$WORK/nginx-b-tmp" -c "$WORK/nginx-b.conf" -e "$WORK/logs/nginx-b.log"
start nginx-a nginx -p "$WORK/nginx-a-tmp" -c "$WORK/nginx-a.conf" -e "$WORK/logs/nginx-a.log"
wait_ready_strait strait-b "$P_SB_ADMIN"
wait_ready_strait strait-a "$P_SA_ADMIN"
wait_port strait-a "$P_SA_UP"
wait_port haproxy-b "$P_HA_B"
wait_port haproxy-a "$P_HA_A"
wait_port nginx-b "$P_NG_B"
wait_port nginx-a "$P_NG_A"

HOP_PIDS[strait-a]="${PID_OF[strait-a]}"
HOP_PIDS[strait-b]="${PID_OF[strait-b]}"
HOP_PIDS[haproxy-a]="${PID_OF[haproxy-a]}"
HOP_PIDS[haproxy-b]="${PID_OF[haproxy-b]}"
HOP_PIDS[nginx-a]="${PID_OF[nginx-a]} $(nginx_worker_pids "${PID_OF[nginx-a]}")"
HOP_PIDS[nginx-b]="${PID_OF[nginx-b]} $(nginx_worker_pids "${PID_OF[nginx-b]}")"
HOPS=(strait-a strait-b haproxy-a haproxy-b nginx-a nginx-b)

rss_kib() {  # rss_kib PIDS...: summed VmRSS
  local total=0 pid v
  for pid in "$@"; do
    v="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
snapshot_rss() {  # snapshot_rss LABEL: res/rss-LABEL.txt with "hop kib" lines
  local hop
  for hop in "${HOPS[@]}"; do
    # shellcheck disable=SC2086
    echo "$hop $(rss_kib ${HOP_PIDS[$hop]})"
  done >"$WORK/res/rss-$1.txt"
}

CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() {  # cpu_ticks PIDS...: summed utime+stime (clock ticks)
  local total=0 pid v
  for pid in "$@"; do
    # fields after the ")" closing comm: state is field 3, utime 14, stime 15
    v="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}' || true)"
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
cpu_snapshot() {  # cpu_snapshot FILE: "hop ticks" lines
  local hop
  for hop in "${HOPS[@]}"; do
    # shellcheck disable=SC2086
    echo "$hop $(cpu_ticks ${HOP_PIDS[$hop]})"
  done >"$1"
  echo "wall $(date +%s.%N)" >>"$1"
}

# Idle: after start, before any request.
sleep 1
snapshot_rss idle
for hop in "${HOPS[@]}"; do
  anon=0; file=0
  for pid in ${HOP_PIDS[$hop]}; do
    anon=$((anon + $(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")))
    file=$((file + $(awk '/^RssFile:/ {print $2}' "/proc/$pid/status")))
  done
  echo "$hop $anon $file"
done >"$WORK/res/rss-idle-split.txt"
# Where strait's idle RSS lives: the largest mappings of hop A by resident size.
python3 - "${PID_OF[strait-a]}" >"$WORK/res/strait-a-smaps.txt" <<'EOF2' || true
import sys
pid = sys.argv[1]
maps, cur = {}, None
with open(f"/proc/{pid}/smaps") as f:
    for line in f:
        first = line.split()[0]
        if "-" in first and not first.endswith(":"):
            parts = line.split(None, 5)
            cur = parts[5].strip() if len(parts) > 5 else "[anon]"
        elif first == "Rss:" and cur is not None:
            maps[cur] = maps.get(cur, 0) + int(line.split()[1])
for name, kib in sorted(maps.items(), key=lambda kv: -kv[1])[:10]:
    print(f"{kib} {name}")
EOF2
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------------------------------------
# Paths, and a check that each answers 200 "ok".
declare -A URL=(
  [direct]="http://127.0.0.1:$P_ORIGIN/"
  [strait]="http://127.0.0.1:$P_SA_UP/"
  [haproxy]="http://127.0.0.1:$P_HA_A/"
  [nginx]="http://127.0.0.1:$P_NG_A/"
)
declare -A PAIR=([strait]="strait-a strait-b" [haproxy]="haproxy-a haproxy-b" [nginx]="nginx-a nginx-b")
PATHS=(direct strait haproxy nginx)
declare -A OK
for p in "${PATHS[@]}"; do
  out="$(curl -sS --noproxy '' -m 5 -o "$WORK/res/curl-$p.body" -w '%{http_code}' "${URL[$p]}" 2>"$WORK/res/curl-$p.err" || true)"
  body="$(cat "$WORK/res/curl-$p.body" 2>/dev/null || true)"
  if [[ "$out" == 200 && "$body" == ok ]]; then
    OK[$p]=1
    log "check $p: 200 ok"
  else
    OK[$p]=0
    log "check $p FAILED: status '$out' body '${body:0:200}' $(cat "$WORK/res/curl-$p.err")"
  fi
  echo "$out" >"$WORK/res/curl-$p.status"
done
[[ "${OK[direct]}" == 1 ]] || die "the app itself does not answer"

# Hop B must refuse a client without a certificate, and (peers) serve one with the mesh client cert.
declare -A HOP_B_PORT=([strait]="$P_SB_IN" [haproxy]="$P_HA_B" [nginx]="$P_NG_B")
for p in strait haproxy nginx; do
  port="${HOP_B_PORT[$p]}"
  no_cert="$(curl -sS -k -m 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/" 2>/dev/null || true)"
  if [[ "$no_cert" == 200 ]]; then
    echo "MISCONFIGURED: hop B answered 200 without a client certificate" >"$WORK/res/mtls-$p.txt"
    OK[$p]=0
  else
    echo "hop B refused a client without a certificate (curl status ${no_cert:-none})" >"$WORK/res/mtls-$p.txt"
  fi
  line="$(cat "$WORK/res/mtls-$p.txt")"
  if [[ $p != strait ]]; then
    with_cert="$(curl -sS -m 5 -o /dev/null -w '%{http_code}' --tlsv1.3 --cacert "$PKI/ca.crt" \
      --cert "$PKI/peer-client.crt" --key "$PKI/peer-client.key" \
      --resolve "$PEER_DNS:$port:127.0.0.1" "https://$PEER_DNS:$port/" 2>/dev/null || true)"
    echo "$line; with the client certificate over TLS 1.3: $with_cert" >"$WORK/res/mtls-$p.txt"
    [[ "$with_cert" == 200 ]] || OK[$p]=0
  fi
  log "mTLS check $p: $(cat "$WORK/res/mtls-$p.txt")"
done

# A sampler of the hops' RSS, every 50 ms, keeping the maximum per hop.
rss_sampler() {  # rss_sampler OUTFILE WATCH_PID HOP...: samples until WATCH_PID exits
  local out=$1 watch=$2; shift 2
  python3 - "$out" "$watch" "$@" <<'EOF'
import os, sys, time
out, watch, hops = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
# each hop arg: name=pid,pid
spec = {h.split("=")[0]: [int(p) for p in h.split("=")[1].split(",") if p] for h in hops}
peak = {name: 0 for name in spec}
def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
deadline = time.monotonic() + 600
def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
while running(watch) and time.monotonic() < deadline:
    for name, pids in spec.items():
        peak[name] = max(peak[name], sum(rss(p) for p in pids))
    time.sleep(0.05)
with open(out, "w") as f:
    for name, v in peak.items():
        f.write(f"{name} {v}\n")
EOF
}
hop_spec() {  # hop_spec HOP: name=pid,pid
  echo "$1=$(echo "${HOP_PIDS[$1]}" | tr ' ' ',')"
}

# ------------------------------------------------------------------------------------------------
# Micro-benchmarks first (a few seconds, before the proxies are loaded).
log "micro-benchmarks: $MICRO_BIN --benchmark_min_time=0.2"
"$MICRO_BIN" --benchmark_min_time=0.2 >"$WORK/res/micro.txt" 2>"$WORK/res/micro.err" || log "micro-benchmarks failed"
for extra in route_table_bench load_balancer_bench rate_limiter_bench authorization_bench istio_metrics_bench; do
  if [[ -x "$BIN_DIR/$extra" ]]; then
    log "micro-benchmarks: $BIN_DIR/$extra --benchmark_min_time=0.2"
    "$BIN_DIR/$extra" --benchmark_min_time=0.2 >>"$WORK/res/micro.txt" 2>>"$WORK/res/micro.err" || log "$extra failed"
  fi
done

# ------------------------------------------------------------------------------------------------
# The paths are measured in interleaved rounds (direct, strait, haproxy, nginx, direct, ...), so that
# a burst of noise from other work on the machine lands on every path alike rather than on one of them;
# each path gets ROUNDS x (DURATION / ROUNDS) seconds in all. BENCH_ROUNDS=1 runs each path once.
RDUR=$(((DURATION + ROUNDS - 1) / ROUNDS))
for p in "${PATHS[@]}"; do echo "${OK[$p]}" >"$WORK/res/ok-$p"; done

# (a) Closed-loop throughput: wrk, 1 thread, 32 connections.
WRK_CMD="wrk -t1 -c$CONNS -d${RDUR}s --latency URL   # x $ROUNDS rounds per path, interleaved"
for p in "${PATHS[@]}"; do
  [[ "${OK[$p]}" == 1 ]] || continue
  log "warm-up $p: ${WARMUP}s closed loop"
  timeout $((WARMUP + 20)) wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${URL[$p]}" >"$WORK/res/wrk-warm-$p.txt" 2>&1 || true
done
for ((r = 1; r <= ROUNDS; r++)); do
  for p in "${PATHS[@]}"; do
    [[ "${OK[$p]}" == 1 ]] || continue
    cpu_snapshot "$WORK/res/cpu-wrk-$p-$r.before"
    timeout $((RDUR + 30)) wrk -t1 -c"$CONNS" -d"${RDUR}s" --latency "${URL[$p]}" >"$WORK/res/wrk-$p-$r.txt" 2>&1 || true
    cpu_snapshot "$WORK/res/cpu-wrk-$p-$r.after"
    log "throughput round $r/$ROUNDS $p: $(grep -E 'Requests/sec|Socket errors|Non-2xx' "$WORK/res/wrk-$p-$r.txt" | tr -s ' \n' ' ')"
  done
done

# (b) Latency at a fixed rate: h2load (HTTP/1.1), RATE_CONNS connections at RATE/RATE_CONNS req/s
# each, per-request times from --log-file; (c) peak RSS of each hop while it runs.
PER_CONN_RPS=$((RATE / RATE_CONNS))
H2_WARM=500ms
H2LOAD_CMD="h2load --h1 -t 1 -c $RATE_CONNS --rps $PER_CONN_RPS -D $RDUR --warm-up-time $H2_WARM --log-file FILE URL   # x $ROUNDS rounds per path, interleaved"
for ((r = 1; r <= ROUNDS; r++)); do
  for p in "${PATHS[@]}"; do
    [[ "${OK[$p]}" == 1 ]] || continue
    cpu_snapshot "$WORK/res/cpu-h2-$p-$r.before"
    timeout $((RDUR + 60)) h2load --h1 -t 1 -c "$RATE_CONNS" --rps "$PER_CONN_RPS" -D "$RDUR" \
      --warm-up-time "$H2_WARM" --log-file "$WORK/res/h2load-$p-$r.tsv" "${URL[$p]}" \
      >"$WORK/res/h2load-$p-$r.txt" 2>&1 &
    h2_pid=$!
    PIDS+=("$h2_pid")
    if [[ $p != direct ]]; then
      read -r ha hb <<<"${PAIR[$p]}"
      rss_sampler "$WORK/res/rss-load-$p-$r.txt" "$h2_pid" "$(hop_spec "$ha")" "$(hop_spec "$hb")" || true
    fi
    wait "$h2_pid" || true
    PIDS=("${PIDS[@]:0:${#PIDS[@]}-1}")  # reaped: never signal that pid again
    cpu_snapshot "$WORK/res/cpu-h2-$p-$r.after"
    log "latency round $r/$ROUNDS $p: $(grep -E '^requests:' "$WORK/res/h2load-$p-$r.txt" | cut -d' ' -f2-)"
  done
done

sleep 1
snapshot_rss after

# strait's own view: counters from the admin endpoint and warnings from its logs.
for s in a b; do
  port_var="P_S${s^^}_ADMIN"
  curl -sS -m 5 "http://127.0.0.1:${!port_var}/stats/prometheus" >"$WORK/res/strait-$s.prom" 2>/dev/null || true
done

# Sockets on strait's listening ports once all load has stopped (what its gauges should agree with).
for spec in "upstream_binding:$P_SA_UP" "inbound:$P_SB_IN"; do
  port="${spec#*:}"
  est="$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)"
  cw="$(ss -Htn state close-wait "( sport = :$port )" 2>/dev/null | wc -l)"
  echo "${spec%%:*} (127.0.0.1:$port): $est established, $cw close-wait"
done >"$WORK/res/strait-sockets.txt"

# ------------------------------------------------------------------------------------------------
# Facts about the machine and the versions, then the report.
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -sr)"
  echo "loadavg=at start $LOAD_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "strait=$("$PROXY_BIN" --version 2>&1 | head -1)"
  echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "build_type=$(awk -F= '/^CMAKE_BUILD_TYPE:/ {print $2}' "$BIN_DIR/../CMakeCache.txt" 2>/dev/null || echo unknown)"
  echo "haproxy=$(haproxy -v 2>&1 | head -1)"
  echo "nginx=$(nginx -v 2>&1 | head -1)"
  echo "wrk=$(wrk -v 2>&1 | head -1)"
  echo "h2load=$(h2load --version 2>&1 | head -1)"
  echo "openssl=$(openssl version)"
} >"$WORK/res/facts.txt"

for f in strait-a strait-b haproxy-a haproxy-b nginx-a nginx-b origin; do
  cat "$WORK/logs/$f.out" "$WORK/logs/$f.log" 2>/dev/null | tail -n 400 >"$WORK/res/log-$f.txt" || true
done

mkdir -p "$RESULTS_DIR"
export ROUNDS RDUR CLK_TCK WORK DURATION WARMUP RATE RATE_CONNS CONNS PER_CONN_RPS H2_WARM WRK_CMD H2LOAD_CMD
python3 - "$REPORT" <<'PYEOF'
import math, os, re, statistics, sys

work = os.environ["WORK"]
res = os.path.join(work, "res")
report_path = sys.argv[1]
env = os.environ
rounds = int(env["ROUNDS"])
paths = ["direct", "strait", "haproxy", "nginx"]
proxies = ["strait", "haproxy", "nginx"]
hops = {"strait": ("strait-a", "strait-b"), "haproxy": ("haproxy-a", "haproxy-b"),
        "nginx": ("nginx-a", "nginx-b")}
RSS_IDLE_MIB, RSS_LOAD_MIB = 10, 15
THROUGHPUT_TARGET, LATENCY_TARGET = 1.25, 0.5
clk_tck = float(env.get("CLK_TCK", "100"))


def read(name, default=""):
    try:
        with open(os.path.join(res, name)) as f:
            return f.read()
    except OSError:
        return default


facts = dict(line.split("=", 1) for line in read("facts.txt").splitlines() if "=" in line)
ok = {p: read(f"ok-{p}").strip() == "1" for p in paths}


def kv_file(name, conv=float):
    out = {}
    for line in read(name).splitlines():
        k, _, v = line.partition(" ")
        if v.strip():
            out[k] = conv(v.split()[0])
    return out


def cpu_seconds(kind, p):
    """({hop: cpu seconds summed over the rounds}, wall seconds summed over the rounds)."""
    cpu, wall = {}, 0.0
    for r in range(1, rounds + 1):
        before, after = kv_file(f"cpu-{kind}-{p}-{r}.before"), kv_file(f"cpu-{kind}-{p}-{r}.after")
        if "wall" not in before or "wall" not in after:
            return {}, None
        wall += after["wall"] - before["wall"]
        for k in after:
            if k != "wall" and k in before:
                cpu[k] = cpu.get(k, 0.0) + (after[k] - before[k]) / clk_tck
    return cpu, wall


def unit_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def parse_wrk_round(t):
    out = {"rps": None, "errors": 0, "non2xx": 0, "requests": 0, "seconds": None,
           "socket_errors": [0, 0, 0, 0]}
    m = re.search(r"Requests/sec:\s+([\d.]+)", t)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", t)
    if m:
        out["requests"] = int(m.group(1))
        out["seconds"] = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(3)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        out["socket_errors"] = [int(x) for x in m.groups()]
        out["errors"] = sum(out["socket_errors"])
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    if m:
        out["non2xx"] = int(m.group(1))
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+(\S+)", t, re.M)
        out[f"p{q}"] = unit_us(m.group(1)) if m else None
    return out


def parse_wrk(p):
    rs = [parse_wrk_round(read(f"wrk-{p}-{r}.txt")) for r in range(1, rounds + 1)]
    good = [x for x in rs if x["rps"] is not None and x["seconds"]]
    out = {"rounds": rs, "missing": len(rs) - len(good)}
    out["requests"] = sum(x["requests"] for x in good)
    secs = sum(x["seconds"] for x in good)
    out["rps"] = out["requests"] / secs if secs else None
    out["round_rps"] = [x["rps"] for x in good]
    out["errors"] = sum(x["errors"] for x in rs)
    out["socket_errors"] = [sum(x["socket_errors"][i] for x in rs) for i in range(4)]
    out["non2xx"] = sum(x["non2xx"] for x in rs)
    for q in ("p50", "p99"):
        vals = [x[q] for x in good if x[q] is not None]
        out[q] = statistics.median(vals) if vals else None
    return out


def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    # nearest rank: the smallest value with at least q% of the samples at or below it
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q / 100 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def parse_h2load(p):
    lat, statuses, failed, achieved, round_p99 = [], {}, 0, [], []
    for r in range(1, rounds + 1):
        t = read(f"h2load-{p}-{r}.txt")
        rlat = []
        for line in read(f"h2load-{p}-{r}.tsv").splitlines():
            cols = line.split("\t")
            if len(cols) < 3:
                continue
            statuses[cols[1]] = statuses.get(cols[1], 0) + 1
            if cols[1] == "200":
                rlat.append(int(cols[2]))
        rlat.sort()
        lat.extend(rlat)
        if rlat:
            round_p99.append(percentile(rlat, 99))
        m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", t)
        if m:
            achieved.append(float(m.group(2)))
        else:
            failed += 1  # a round without a summary: h2load failed
        m = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", t)
        if m:
            failed += sum(int(x) for x in m.groups())
    lat.sort()
    out = {"n": len(lat), "statuses": statuses, "round_p99": round_p99}
    for q in (50, 90, 99, 99.9):
        out[f"p{q}"] = percentile(lat, q)
    out["max"] = lat[-1] if lat else None
    out["achieved_rps"] = statistics.mean(achieved) if achieved else None
    out["failed"] = failed + sum(v for k, v in statuses.items() if k != "200")
    return out


def peak_rss(p):
    out = {}
    for r in range(1, rounds + 1):
        for k, v in kv_file(f"rss-load-{p}-{r}.txt", int).items():
            out[k] = max(out.get(k, 0), v)
    return out


wrk = {p: parse_wrk(p) for p in paths if ok[p]}
h2 = {p: parse_h2load(p) for p in paths if ok[p]}
rss_idle, rss_after = kv_file("rss-idle.txt", int), kv_file("rss-after.txt", int)
rss_load = {}
for p in proxies:
    rss_load.update(peak_rss(p))


def ms(us):
    return "n/a" if us is None else f"{us / 1000:.3f}"


def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def fmt_rps(v):
    return "n/a" if v is None else f"{v:,.0f}"


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fx(r):
    return "n/a" if r is None else f"{r:.2f}x"


def added_p99(p):
    if p not in h2 or "direct" not in h2:
        return None
    a, d = h2[p]["p99"], h2["direct"]["p99"]
    return None if a is None or d is None else a - d


lines = []
w = lines.append
rdur = env["RDUR"]
w("# strait benchmark: the two-sidecar path against HAProxy and nginx")
w("")
w(f"Run {facts.get('date', '?')} by `bench/run-bench.sh` (`make bench`). All figures come from this one run;"
  " the machine is shared, so compare the ratios, not the absolute numbers, with other runs.")
w("")
w("Path measured for each proxy: load generator -> hop A (plain HTTP/1.1) -> TLS 1.3 with client"
  " certificates (ECDSA P-256), both sides verifying -> hop B -> the app (plain HTTP/1.1),"
  " keep-alive on every leg, one worker per proxy process. `direct` is the load generator straight to the app."
  f" Each path is measured in {rounds} interleaved rounds of {rdur} s (direct, strait, haproxy, nginx, direct, ...)"
  " so that noise from other work on the machine falls on all paths alike; the figures pool the rounds.")
w("")

# ---- targets
w("## Targets")
w("")
w("| target | strait | HAProxy | ratio | goal | verdict |")
w("|---|---|---|---|---|---|")
verdicts = []


def verdict(good):
    if good is None:
        verdicts.append(False)
        return "MISS (not measured)"
    verdicts.append(good)
    return "PASS" if good else "MISS"


s_rps = wrk.get("strait", {}).get("rps")
h_rps = wrk.get("haproxy", {}).get("rps")
r = ratio(s_rps, h_rps)
strait_errs = wrk["strait"]["errors"] + wrk["strait"]["non2xx"] if "strait" in wrk else 0
good = None if r is None else (r >= THROUGHPUT_TARGET and strait_errs == 0)
w(f"| closed-loop throughput, {env['CONNS']} connections (req/s) | {fmt_rps(s_rps)} | {fmt_rps(h_rps)} |"
  f" {fx(r)} | >= {THROUGHPUT_TARGET}x HAProxy | {verdict(good)}{' (strait had errors)' if strait_errs else ''} |")
sa, ha = added_p99("strait"), added_p99("haproxy")
r = ratio(sa, ha)
strait_failed = h2["strait"]["failed"] if "strait" in h2 else 0
good = None if r is None else (r <= LATENCY_TARGET and strait_failed == 0)
w(f"| added p99 at {env['RATE']} req/s (ms) | {ms(sa)} | {ms(ha)} | {fx(r)} |"
  f" <= {LATENCY_TARGET}x HAProxy | {verdict(good)}{' (strait had failed requests)' if strait_failed else ''} |")
for hop in hops["strait"]:
    v = rss_idle.get(hop)
    w(f"| RSS of {hop}, idle (MiB) | {mib(v)} | - | - | <= {RSS_IDLE_MIB} MiB | "
      f"{verdict(None if not v else v <= RSS_IDLE_MIB * 1024)} |")
for hop in hops["strait"]:
    v = rss_load.get(hop)
    w(f"| RSS of {hop}, peak at {env['RATE']} req/s (MiB) | {mib(v)} | - | - | <= {RSS_LOAD_MIB} MiB | "
      f"{verdict(None if not v else v <= RSS_LOAD_MIB * 1024)} |")
w("")
w("Added p99 = p99 through the pair minus p99 direct to the app, both at the same fixed rate."
  " MiB = 1,048,576 bytes (10 MB read as 10 MiB); RSS is VmRSS from /proc/PID/status.")
w("")

# ---- throughput
w(f"## Closed-loop throughput (wrk, 1 thread, {env['CONNS']} connections, {rounds} x {rdur} s per path)")
w("")
w("| path | req/s | vs HAProxy | vs nginx | rounds: min - max req/s | p50 (ms) | p99 (ms) | CPU µs/request, hop A + hop B | errors |")
w("|---|---|---|---|---|---|---|---|---|")
n_rps = wrk.get("nginx", {}).get("rps")
for p in paths:
    if p not in wrk:
        w(f"| {p} | FAILED the checks | | | | | | | |")
        continue
    d = wrk[p]
    cpu_txt = "-"
    if p in hops:
        cpu, _ = cpu_seconds("wrk", p)
        if d["requests"] and all(h in cpu for h in hops[p]):
            a, b = (cpu[h] * 1e6 / d["requests"] for h in hops[p])
            cpu_txt = f"{a:.1f} + {b:.1f} = {a + b:.1f}"
    errs = []
    if d["errors"]:
        errs.append("socket errors: connect {}, read {}, write {}, timeout {}".format(*d["socket_errors"]))
    if d["non2xx"]:
        errs.append(f"{d['non2xx']} non-2xx")
    if d["missing"]:
        errs.append(f"{d['missing']} round(s) without a wrk result")
    spread = (f"{fmt_rps(min(d['round_rps']))} - {fmt_rps(max(d['round_rps']))}" if d["round_rps"] else "n/a")
    w(f"| {p} | {fmt_rps(d['rps'])} | {fx(ratio(d['rps'], h_rps))} | {fx(ratio(d['rps'], n_rps))} | {spread} |"
      f" {ms(d['p50'])} | {ms(d['p99'])} | {cpu_txt} | {'; '.join(errs) or '0'} |")
w("")
noisy = [p for p in paths if p in wrk and len(wrk[p]["round_rps"]) > 1
         and max(wrk[p]["round_rps"]) > 1.3 * min(wrk[p]["round_rps"])]
if noisy:
    w(f"**Noise:** the per-round throughput of {', '.join(noisy)} varies more than 30% between rounds: other"
      " work on the machine is taking CPU time, so treat this run's throughput ratio with care.")
    w("")
w("req/s = all requests of the rounds over their summed duration. p50/p99 are wrk's closed-loop latencies"
  " (median over the rounds; informational, the latency target uses the fixed-rate run)."
  " CPU µs/request = utime+stime of the hop's processes (/proc/PID/stat) over the measured rounds, divided by"
  " the requests wrk completed.")
w("")

# ---- latency
w(f"## Latency at a fixed {env['RATE']} req/s (h2load, HTTP/1.1, {env['RATE_CONNS']} connections,"
  f" {rounds} x {rdur} s per path, each round after {env['H2_WARM']} of warm-up)")
w("")
w("| path | achieved req/s | requests | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | added p99 (ms) | p99 by round (ms) | failed | CPU, hop A / hop B (% of a core) |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|")
for p in paths:
    if p not in h2:
        w(f"| {p} | FAILED the checks | | | | | | | | | | |")
        continue
    d = h2[p]
    cpu_txt = "-"
    if p in hops:
        cpu, wall = cpu_seconds("h2", p)
        if wall and all(h in cpu for h in hops[p]):
            cpu_txt = " / ".join(f"{cpu[h] / wall * 100:.1f}" for h in hops[p])
    add = "-" if p == "direct" else ms(added_p99(p))
    by_round = " ".join(f"{x / 1000:.2f}" for x in d["round_p99"]) or "n/a"
    w(f"| {p} | {fmt_rps(d['achieved_rps'])} | {d['n']} | {ms(d['p50'])} | {ms(d['p90'])} | {ms(d['p99'])} |"
      f" {ms(d['p99.9'])} | {ms(d['max'])} | {add} | {by_round} | {d['failed']} | {cpu_txt} |")
w("")
noisy = [p for p in paths if p in h2 and len(h2[p]["round_p99"]) > 1
         and max(h2[p]["round_p99"]) > 3 * min(h2[p]["round_p99"])]
if noisy:
    w(f"**Noise:** the per-round p99 of {', '.join(noisy)} varies more than 3x between rounds: other work on"
      " the machine (load average at start: " + facts.get("loadavg", "?").split(",")[0].replace("at start ", "")
      + ") is stalling processes for milliseconds, so this run's p99 ratio is not trustworthy; rerun on a quiet machine.")
    w("")
w(f"Added p99, strait vs HAProxy: {fx(ratio(added_p99('strait'), added_p99('haproxy')))};"
  f" strait vs nginx: {fx(ratio(added_p99('strait'), added_p99('nginx')))}.")
w("")
w("Tool: h2load (nghttp2) in HTTP/1.1 mode, `--rps` pacing each connection; percentiles are computed here"
  " from its per-request log (`--log-file`: time from sending a request to the end of its response, µs),"
  " pooled over the rounds (warm-up requests are not logged). A request waits for the previous response on"
  " its connection, so a stall longer than the pacing interval (4 ms) delays later requests instead of being"
  " counted against them (no coordinated-omission correction); stalls still show in p99/max.")
w("")

# ---- memory
split = {}
for line in read("rss-idle-split.txt").splitlines():
    parts = line.split()
    if len(parts) == 3:
        split[parts[0]] = (int(parts[1]), int(parts[2]))
w("## Memory (VmRSS, MiB)")
w("")
w("| hop | idle (after start, no request yet) | idle: anon + file-backed | peak during the fixed-rate runs | after all runs |")
w("|---|---|---|---|---|")
for p in proxies:
    for hop in hops[p]:
        sp = split.get(hop)
        sp_txt = f"{mib(sp[0])} + {mib(sp[1])}" if sp else "n/a"
        w(f"| {hop} | {mib(rss_idle.get(hop))} | {sp_txt} | {mib(rss_load.get(hop))} | {mib(rss_after.get(hop))} |")
    pair = [sum(src.get(h, 0) for h in hops[p]) for src in (rss_idle, rss_load, rss_after)]
    w(f"| **{p} pair** | {mib(pair[0])} | | {mib(pair[1])} | {mib(pair[2])} |")
w("")
smaps = [l.split(" ", 1) for l in read("strait-a-smaps.txt").splitlines() if " " in l]
if smaps:
    w("Largest resident mappings of strait-a at idle (KiB): "
      + ", ".join(f"{os.path.basename(n) or n} {k}" for k, n in smaps) + ".")
    w("")
w("nginx hops are master + worker summed (shared pages count twice); strait and HAProxy are one process per hop."
  " File-backed pages (RssFile) are mostly the binary and shared libraries (libssl, libcrypto, libstdc++);"
  " \"after all runs\" follows the closed-loop runs at 32 connections too.")
w("")

# ---- micro
w("## Micro-benchmarks (`build/bin/http_parser_bench`, `route_table_bench`, `load_balancer_bench`, `rate_limiter_bench`, `authorization_bench`; `--benchmark_min_time=0.2`)")
w("")
w("route_table_bench: one request routed through a VirtualService of 1,000 routes (exact, prefix, regex,"
  " prefix + header + query); the route index proposes candidates (hash of exact paths, prefixes per length,"
  " one RE2::Set pass over every regex), which are tested whole in route order.")
w("")
micro = read("micro.txt").strip()
w("```")
w(micro or ("(no output) " + read("micro.err").strip()[-2000:]))
w("```")
if "DEBUG" in read("micro.err") + micro:
    w("")
    w("Google Benchmark's \"Library was built as DEBUG\" warning refers to Debian's libbenchmark package,"
      " not to strait's code, which is built " + facts.get("build_type", "?") + ".")
w("")

# ---- strait observations
w("## strait: counters and log lines")
w("")
for s in ("a", "b"):
    prom = read(f"strait-{s}.prom")
    if not prom:
        w(f"strait-{s}: the admin endpoint did not answer at the end of the run.")
        w("")
        continue
    counters = [l for l in prom.splitlines() if l and not l.startswith("#") and not l.rstrip().endswith(" 0")
                and not re.match(r"strait_(build_info|certificate_expiry|config_version)", l)]
    w(f"strait-{s} non-zero counters at the end of the run:")
    w("```")
    w("\n".join(counters[:60]))
    w("```")
    if s == "b":
        w("(one inbound TLS handshake failure is expected: the mTLS check's curl without a client certificate)")
    log_lines = [l for l in read(f"log-strait-{s}.txt").splitlines()
                 if re.search(r"\b(warn|warning|error|critical)\b", l, re.I)]
    if log_lines:
        w(f"strait-{s} warnings/errors in its log ({len(log_lines)}; last 20):")
        w("```")
        w("\n".join(log_lines[-20:]))
        w("```")
    else:
        w(f"strait-{s}: no warning or error lines in its log.")
    w("")
sockets = read("strait-sockets.txt").strip().splitlines()
w("Sockets on strait's listening ports after all load stopped (`ss`, server side): " + "; ".join(sockets) + ".")
stuck = sum(int(m.group(1)) for l in sockets for m in [re.search(r"(\d+) close-wait", l)] if m)
if stuck:
    w(f"**Looks wrong:** {stuck} downstream connection(s) in CLOSE-WAIT: the client closed them and strait has"
      " not closed its side (and still counts them in strait_downstream_connections_active).")
w("")
w("mTLS checks before measuring (hop B, curl straight to it):")
w("")
for p in proxies:
    w(f"- {p}: {read(f'mtls-{p}.txt').strip() or 'not run'}")
w("")
for p in paths:
    if not ok[p]:
        w(f"**{p} failed the checks and was not measured**: status `{read(f'curl-{p}.status').strip()}`,"
          f" body `{read(f'curl-{p}.body')[:200]}`, curl: `{read(f'curl-{p}.err').strip()}`")
        w("")

# ---- setup
w("## Machine and versions")
w("")
for k in ("nproc", "cpu", "mem", "kernel", "loadavg"):
    w(f"- {k}: {facts.get(k, '?')}" + (" (1/5/15 min)" if k == "loadavg" else ""))
w(f"- strait: {facts.get('strait', '?')}, git {facts.get('git', '?')}, build type {facts.get('build_type', '?')}")
for k in ("haproxy", "nginx", "wrk", "h2load", "openssl"):
    w(f"- {k}: {facts.get(k, '?')}")
w("")
w("## Commands")
w("")
w("```")
w(f"warm-up, once per path:  wrk -t1 -c{env['CONNS']} -d{env['WARMUP']}s URL")
w(f"(a) {env['WRK_CMD']}")
w(f"(b) {env['H2LOAD_CMD']}")
w("(c) VmRSS from /proc/PID/status: once 1 s after start (idle), every 50 ms during (b) (peak), once after all runs")
w("micro: build/bin/{http_parser_bench,route_table_bench,load_balancer_bench,rate_limiter_bench,authorization_bench} --benchmark_min_time=0.2")
w("```")
w("")
w("- app: nginx, 1 worker, `location / { return 200 \"ok\"; }`, keepalive_requests 1000000.")
w("- strait: two `strait-proxy --bootstrap FILE --concurrency 1` (default log level); the load hits hop A's"
  " `upstreams:` binding (`app:8080`, protocol http); hop B's `inbound:` port 8080 (http) targets the app."
  " SPIFFE identities are verified on both sides. strait adds its mesh headers (x-request-id,"
  " x-forwarded-client-cert, x-forwarded-proto); the peers add none.")
w("- HAProxy: `nbthread 1`, `http-reuse always`, no logging; hop A `server ... ssl ssl-min-ver TLSv1.3 verify"
  " required ca-file crt verifyhost pool-max-conn 64`; hop B `bind ... ssl crt ca-file verify required"
  " ssl-min-ver TLSv1.3`, keep-alive to the app.")
w("- nginx: `worker_processes 1`, access_log off, keepalive_requests 1000000; hop A `proxy_pass https://` with"
  " proxy_ssl_certificate/_key, proxy_ssl_trusted_certificate, proxy_ssl_verify on, proxy_ssl_name,"
  " proxy_ssl_protocols TLSv1.3, upstream `keepalive 64`, `proxy_http_version 1.1`, `Connection \"\"`;"
  " hop B `listen ssl`, ssl_verify_client on, ssl_protocols TLSv1.3, keep-alive to the app.")
w("- Everything on 127.0.0.1 with ports picked free at run time; all processes share the machine's"
  f" {facts.get('nproc', '?')} cores with the load generator and the app.")
w("")
w(f"Overall: {'all targets PASS' if verdicts and all(verdicts) else 'some targets MISS'}.")

text = "\n".join(lines) + "\n"
with open(report_path, "w") as f:
    f.write(text)
with open(os.path.join(res, "verdict"), "w") as f:
    f.write("pass" if verdicts and all(verdicts) else "miss")
print(text)
PYEOF

log "report written to ${REPORT#"$ROOT"/}"
if [[ "$(cat "$WORK/res/verdict" 2>/dev/null)" != pass && -n "${STRAIT_BENCH_STRICT:-}" ]]; then
  exit 1
fi
for p in "${PATHS[@]}"; do
  [[ "${OK[$p]}" == 1 ]] || exit 1
done
exit 0
