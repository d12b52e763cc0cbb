#!/usr/bin/env bash
# Sluice load benchmark: Sluice against the simulated provider called directly and through nginx, interleaved in
# one invocation on one machine. See BENCHMARKS.md for what is measured and how to read the output.
#
#   bench/run.sh [latency|stream|soak|profile|compare|all]   (default: all = latency + stream + soak)
#   QUICK=1 bench/run.sh all                           a smoke run of a minute or two, to check the script works
#
# Results: bench-results/<timestamp>/ (results.jsonl, summary.md, process logs). Every load run is bounded in
# count and time, and every process this script starts is stopped on exit.
#
# Sluice is started as users start it: by the launcher `sluice serve`, with the launcher's default JVM flags.
#
# Knobs (environment): ROUNDS, DURATION (s per open-loop run), WARMUP (s), OPEN_CONNECTIONS (client pool of the
# open loop), OPEN_ROUND_ROBIN (1: all of them opened first and taken in turn), CLOSED_CONNECTIONS, WRK_THREADS,
# SLUICE_JAVA_OPTS (extra JVM flags, passed to the launcher as a user would; unset by default), SOAK_JAVA_OPTS,
# SERIAL_JAVA_OPTS (the compare part's second Sluice), NGINX_WORKERS (1 or auto), STREAMS, STREAM_ROUNDS, SOAK_STREAMS,
# SOAK_PER_TOKEN_MS, SOAK_TOKENS, SOAK_RAMP, INFO_ROUNDS, PROFILE_SECONDS, SLUICE_BACKENDS (backends of the pool
# route, each at the 100,000 RPM maximum, so that shaping never limits the benchmark), BENCH_NICE (a niceness for
# the benchmark and everything it starts, e.g. -10 as root on a machine others are using: every target, client
# and comparator alike gets it; unset by default), METRICS_COMPARATOR (1, the default: the latency part also runs
# "sluice-nometrics", a second Sluice from the same launcher with SIDECAR_METRICS_ENABLED=false, interleaved with
# the others; 0 leaves it out), SCRAPE_INTERVAL (seconds between scrapes of the metrics-on Sluice's /metrics while
# it runs, as Prometheus would; default 15, 0 for none), DASHBOARD_CLIENTS (N, default 0, at most 1000: N
# `curl -sN .../api/dashboard/stream` clients held open on the metrics-on Sluice during its rounds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
part="${1:-all}"
case "$part" in latency|stream|soak|profile|compare|all) ;; *)
  echo "usage: bench/run.sh [latency|stream|soak|profile|compare|all]" >&2; exit 2 ;;
esac

# ---- settings ----
SIM_PORT=9300; NGINX_PORT=9400; SLUICE_PORT=9190; SLUICE_METRICS_PORT=9191
# The compare part runs a second Sluice beside the first, with the JVM flags earlier runs of this benchmark used.
SERIAL_PORT=9192; SERIAL_METRICS_PORT=9193; NGINX1_PORT=9401
# The latency part's comparator without metrics (SIDECAR_METRICS_ENABLED=false: nothing listens on its metrics port).
NOMETRICS_PORT=9194; NOMETRICS_METRICS_PORT=9195
METRICS_COMPARATOR="${METRICS_COMPARATOR:-1}"; SCRAPE_INTERVAL="${SCRAPE_INTERVAL:-15}"
DASHBOARD_CLIENTS="${DASHBOARD_CLIENTS:-0}"
case "$DASHBOARD_CLIENTS" in ''|*[!0-9]*) echo "bench: DASHBOARD_CLIENTS must be a number 0..1000" >&2; exit 2 ;; esac
[ "$DASHBOARD_CLIENTS" -le 1000 ] || { echo "bench: DASHBOARD_CLIENTS must be at most 1000" >&2; exit 2; }
# Through the launcher, which adds -Xms64m: -Xms256m restores the old runs' initial heap (the JVM's default initial
# heap, 1/64 of RAM, exceeded their -Xmx256m, so it was 256 MB from the start).
SERIAL_JAVA_OPTS="${SERIAL_JAVA_OPTS:--Xms256m -Xmx256m -XX:+UseSerialGC}"
if [ "${QUICK:-0}" = 1 ]; then
  ROUNDS="${ROUNDS:-1}"; DURATION="${DURATION:-3}"; WARMUP="${WARMUP:-1}"; CLOSED_SECONDS="${CLOSED_SECONDS:-3}"
  INFO_ROUNDS="${INFO_ROUNDS:-1}"; STREAMS="${STREAMS:-50}"; STREAM_ROUNDS="${STREAM_ROUNDS:-1}"
  SOAK_STREAMS="${SOAK_STREAMS:-500}"; SOAK_PER_TOKEN_MS=100; SOAK_TOKENS=20; SOAK_RAMP=1
  PROFILE_SECONDS="${PROFILE_SECONDS:-5}"
else
  ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-10}"; WARMUP="${WARMUP:-2}"; CLOSED_SECONDS="${CLOSED_SECONDS:-10}"
  INFO_ROUNDS="${INFO_ROUNDS:-2}"; STREAMS="${STREAMS:-200}"; STREAM_ROUNDS="${STREAM_ROUNDS:-3}"
  # The soak holds 9,000 streams open at once. Its token pace is slow on purpose: the simulated provider spends
  # CPU per token in proportion to the streams it holds open (every timed wait shares one latch, whose queue is
  # walked on each timeout), so at 500 ms/token it alone needs more than this 2-core machine, and the soak would
  # measure the simulator. 5 s/token × 12 tokens keeps every stream open ~55 s, all 9,000 at once for ~40 s.
  SOAK_STREAMS="${SOAK_STREAMS:-9000}"; SOAK_PER_TOKEN_MS="${SOAK_PER_TOKEN_MS:-5000}"; SOAK_TOKENS="${SOAK_TOKENS:-12}"
  SOAK_RAMP="${SOAK_RAMP:-15}"
  PROFILE_SECONDS="${PROFILE_SECONDS:-30}"
fi
CLOSED_CONNECTIONS="${CLOSED_CONNECTIONS:-64}"; WRK_THREADS="${WRK_THREADS:-2}"
# The open loop stands for many callers: 512 connections, opened before the run and each request sent on the next
# one in turn, so each connection carries a request every 0.25-1 s. (OPEN_CONNECTIONS=64 OPEN_ROUND_ROBIN=0 is how
# runs before 2026-12-01 sent: Jetty's pool hands out the first idle connection, so the lowest few carry most
# requests and the others only the bursts after a stall.)
OPEN_CONNECTIONS="${OPEN_CONNECTIONS:-512}"; OPEN_ROUND_ROBIN="${OPEN_ROUND_ROBIN:-1}"
SLUICE_BACKENDS="${SLUICE_BACKENDS:-16}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
STREAM_PER_TOKEN_MS=20; STREAM_TOKENS=50
# Sluice gets no JVM flags of the benchmark's choosing: the launcher's defaults (G1, -Xms64m -Xmx512m) are what
# users run. A collector or heap given here replaces the launcher's, as it would for a user.
SLUICE_JAVA_OPTS="${SLUICE_JAVA_OPTS:-}"
SOAK_JAVA_OPTS="${SOAK_JAVA_OPTS:-$SLUICE_JAVA_OPTS}"
SIM_JAVA_OPTS="${SIM_JAVA_OPTS:--Xms1g -Xmx1g -XX:+UseParallelGC}"
LOADGEN_JAVA_OPTS="${LOADGEN_JAVA_OPTS:--Xms1g -Xmx1g -XX:+UseParallelGC}"
BODY_POOL='{"model":"nvidia/x","messages":[{"role":"user","content":"Say hello to the benchmark."}]}'
BODY_PASS='{"model":"bench/x","messages":[{"role":"user","content":"Say hello to the benchmark."}]}'

if [ -n "${BENCH_NICE:-}" ]; then
  renice -n "$BENCH_NICE" -p $$ >/dev/null || { echo "bench: renice -n $BENCH_NICE failed" >&2; exit 2; }
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/$stamp"
mkdir -p "$out"
results="$out/results.jsonl"
BENCH_NAME=bench
. "$here/common.sh"

if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  log "installing nginx and wrk (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
fi
NGINX="$(command -v nginx)"

require_free_ports "$SIM_PORT" "$NGINX_PORT" "$NGINX1_PORT" "$SLUICE_PORT" "$SLUICE_METRICS_PORT" "$SERIAL_PORT" \
  "$SERIAL_METRICS_PORT" "$NOMETRICS_PORT" "$NOMETRICS_METRICS_PORT"

build_jar
compile_driver src/test/java/dev/sluice/bench/*.java
# The launcher runs target/sluice.jar beside itself: lay out a copy of it next to the jar measured.
mkdir -p "$out/launcher/target"
cp "$root/sluice" "$out/launcher/sluice"
cp "$jar" "$out/launcher/target/sluice.jar"
launcher="$out/launcher/sluice"

driver() {  # driver TIMEOUT_S MODE ARGS...: one bounded LoadGen run, stdout to stdout. LoadGen refuses unknown
  # options and bad values with exit code 2 before sending anything: that stops the whole benchmark, with the message.
  local limit="$1" rc=0; shift
  timeout --kill-after=10 "$limit" "$JAVA" $LOADGEN_JAVA_OPTS -cp "$CP" dev.sluice.bench.LoadGen "$@" \
    2>"$out/loadgen-last.log" || rc=$?
  cat "$out/loadgen-last.log" >>"$out/loadgen.log"
  if [ "$rc" = 2 ]; then
    cat "$out/loadgen-last.log" >&2
    die "LoadGen refused its options: $*"
  fi
  return "$rc"
}
loadgen() {  # loadgen TIMEOUT_S MODE ARGS... : one bounded run; its JSON line is appended to the results
  driver "$@" >>"$results" || log "loadgen run failed or timed out: $*"
}
load_line() {  # load_line SCENARIO TARGET ROUND: the 1-minute load average after a run (the machine is shared)
  printf '{"mode":"load","scenario":"%s","target":"%s","round":"%s","loadavg1":%s}\n' \
    "$1" "$2" "$3" "$(cut -d' ' -f1 /proc/loadavg)" >>"$results"
}
warm() {  # warm TARGET: JIT warm-up of the target's path, discarded (wrk closed loop, then the open-loop client)
  WRK_BODY="$(body_of "$1")" timeout 30 wrk -t"$WRK_THREADS" -c"$CLOSED_CONNECTIONS" -d5s -s "$here/wrk-post.lua" \
    "$(url_of "$1")" >/dev/null 2>&1 || true
  # shellcheck disable=SC2046
  driver 60 open --url "$(url_of "$1")" --rate 1000 --duration 3 --warmup 0 $(open_args) --body "$(body_of "$1")" \
    >/dev/null || true
}
warm_stream() {  # warm_stream TARGET: JIT warm-up of the streaming path, discarded (wrk, streams of 2 chunks)
  local body; body="$(body_of "$1" | sed 's/^{/{"stream":true,/')"
  WRK_BODY="$body" WRK_HEADERS="X-Sim-Chunks: 2" timeout 30 \
    wrk -t2 -c"$CLOSED_CONNECTIONS" -d5s -s "$here/wrk-post.lua" "$(url_of "$1")" >/dev/null 2>&1 || true
  # Every stream of the rounds opens its own connection: warm the accepting path as well.
  WRK_BODY="$body" WRK_HEADERS=$'X-Sim-Chunks: 2\nConnection: close' timeout 30 \
    wrk -t2 -c"$CLOSED_CONNECTIONS" -d3s -s "$here/wrk-post.lua" "$(url_of "$1")" >/dev/null 2>&1 || true
}

# ---- processes ----
sim_pid=""
start_sim() {  # start_sim SIM-OPTIONS...
  [ -n "$sim_pid" ] && stop_pid "$sim_pid"
  "$JAVA" $SIM_JAVA_OPTS -jar "$jar" sim --port "$SIM_PORT" "$@" >>"$out/sim.log" 2>&1 &
  sim_pid=$!; pids+=("$sim_pid")
  wait_http "http://127.0.0.1:$SIM_PORT/sim/stats" sim "$sim_pid" "$out/sim.log"
  log "sim pid $sim_pid: $*"
}

launch_nginx() {  # launch_nginx NAME PORT WORKERS: sets launched_pid
  local prefix="$out/$1"
  mkdir -p "$prefix/tmp"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@WORKERS@#$3#g" -e "s#@LISTEN_PORT@#$2#g" \
    -e "s#@UPSTREAM_PORT@#$SIM_PORT#g" "$here/nginx.conf.template" >"$prefix/nginx.conf"
  "$NGINX" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf" -g 'daemon off;' >>"$out/$1.log" 2>&1 &
  launched_pid=$!; pids+=("$launched_pid")
  wait_http "http://127.0.0.1:$2/sim/stats" "$1" "$launched_pid" "$out/$1.log"
  log "$1 pid $launched_pid, worker_processes $3"
}
nginx_pid=""
start_nginx() {
  launch_nginx nginx "$NGINX_PORT" "$NGINX_WORKERS"
  nginx_pid="$launched_pid"
}
nginx1_pid=""

sluice_config() {  # sluice_config PORT METRICS_PORT: writes Sluice's config for the benchmark to $out/sluice-PORT.yaml
  # The pool route must measure the proxy, not a rate limit. One backend's shaping knobs top out at 100,000
  # requests/minute and a burst of 100,000, i.e. a steady 1,667 req/s: the closed loop (10,000-20,000 req/s)
  # empties that bucket within seconds and then measures the limit. So the pool "nvidia" gets SLUICE_BACKENDS
  # backends at those maxima, all pointing at the simulated provider; a pool dispatches to its backends in order,
  # so the requests take the first backend's tokens, then the next one's, and are never held back (16 backends:
  # 26,667 req/s steady, 1.6 million burst). A backend has at most 100 requests in flight (max_concurrent's
  # ceiling), so there are also enough backends for the most streams the parts run hold open at once (the soak's
  # 9,000: 90 backends). With pools in the file the pool-level environment variables do not apply, so everything is set
  # here.
  local f="$out/sluice-$1.yaml" i most_streams=$STREAMS
  if [[ $part == soak || $part == all ]] && (( SOAK_STREAMS > most_streams )); then most_streams=$SOAK_STREAMS; fi
  local backends=$(( (most_streams + 99) / 100 ))
  (( backends < SLUICE_BACKENDS )) && backends=$SLUICE_BACKENDS
  {
    echo "server: {host: 127.0.0.1, port: $1, metrics_port: $2,"
    echo "         max_connections_per_upstream: 10000}"
    echo "upstream: http://127.0.0.1:$SIM_PORT/v1"
    echo "pools:"
    echo "  - name: nvidia"
    echo "    aliases: [nvidia]"
    echo "    queue_max_size: 1000000"
    echo "    full_policy: passthrough"
    echo "    backends:"
    for i in $(seq 1 "$backends"); do
      echo "      - {id: sim-$i, base_url: 'http://127.0.0.1:$SIM_PORT/v1', rate_rpm: 100000, capacity: 100000,"
      echo "         concurrency: {mode: fixed, max_concurrent: 100}}"
    done
  } >"$f"
  echo "$f"
}

sluice_starts=0
launch_sluice() {  # launch_sluice NAME PORT METRICS_PORT LEVEL JVM_OPTS [EXTRA-JVM-FLAGS...]: sets launched_pid
  # `sluice serve` through the launcher, as users start it. The launcher adds its default JVM flags and execs java,
  # so the pid is the JVM's. A GC log is the one flag added here: a line per collection, no change of collector
  # or heap.
  local name="$1" port="$2" metrics="$3" level="$4" jvm_opts="$5"; shift 5
  local config; config="$(sluice_config "$port" "$metrics")"
  # The state store is on, as for users, in a new file per start: two Sluices at once cannot share one (the
  # second would stop at start-up), and a file left by an earlier start would bring back what it learned.
  sluice_starts=$((sluice_starts + 1))
  local db="$out/store/$name-$sluice_starts.db"
  mkdir -p "$out/store"
  SIDECAR_DB_PATH="$db" \
  SIDECAR_METRICS_ENABLED="${METRICS_ENABLED:-true}" SIDECAR_LOG_LEVEL="$level" JAVA_HOME="$JAVA_HOME_25" \
    SLUICE_JAVA_OPTS="${jvm_opts:+$jvm_opts }-Xlog:gc,safepoint:file=$out/$name-gc-%p.log:uptime${*:+ $*}" \
    "$launcher" serve --config "$config" >>"$out/$name-$level.log" 2>&1 &
  launched_pid=$!; pids+=("$launched_pid")
  wait_http "http://127.0.0.1:$port/health" "$name" "$launched_pid" "$out/$name-$level.log"
  local cmdline; cmdline="$(tr '\0' ' ' <"/proc/$launched_pid/cmdline")"
  printf '{"mode":"meta","process":"%s","log_level":"%s","metrics_enabled":"%s","db_path":"%s","command":"%s"}\n' \
    "$name" "$level" "${METRICS_ENABLED:-true}" "$db" "${cmdline% }" >>"$results"
  log "$name pid $launched_pid, log level $level, state store $db: $cmdline"
}
sluice_pid=""
start_sluice() {  # start_sluice LOG_LEVEL [EXTRA-JVM-FLAGS...]: the launcher's defaults, SLUICE_JAVA_OPTS, the extras
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"
  launch_sluice sluice "$SLUICE_PORT" "$SLUICE_METRICS_PORT" "$1" "${JVM_OPTS-$SLUICE_JAVA_OPTS}" "${@:2}"
  sluice_pid="$launched_pid"
}
nometrics_pid=""
start_nometrics() {  # start_nometrics LOG_LEVEL: the same launcher and flags as start_sluice, metrics switched off
  [ -n "$nometrics_pid" ] && stop_pid "$nometrics_pid"
  METRICS_ENABLED=false launch_sluice sluice-nometrics "$NOMETRICS_PORT" "$NOMETRICS_METRICS_PORT" "$1" \
    "${JVM_OPTS-$SLUICE_JAVA_OPTS}"
  nometrics_pid="$launched_pid"
}
# While the metrics-on Sluice runs: a scrape of /metrics every SCRAPE_INTERVAL s, as Prometheus would, and
# DASHBOARD_CLIENTS dashboard streams held open. Each is a recorded process (stopped on exit); each curl is bounded.
scraper_pid=""; dashboard_pids=()
start_observers() {
  local i
  if [ "$SCRAPE_INTERVAL" != 0 ]; then
    ( while kill -0 "$sluice_pid" 2>/dev/null; do
        curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$SLUICE_METRICS_PORT/metrics" || true
        sleep "$SCRAPE_INTERVAL"
      done ) &
    scraper_pid=$!; pids+=("$scraper_pid")
  fi
  for i in $(seq 1 "$DASHBOARD_CLIENTS"); do
    curl -sN --max-time 7200 -o /dev/null "http://127.0.0.1:$SLUICE_PORT/api/dashboard/stream" 2>/dev/null &
    dashboard_pids+=("$!"); pids+=("$!")
  done
  [ "$DASHBOARD_CLIENTS" -gt 0 ] && log "$DASHBOARD_CLIENTS dashboard stream clients on Sluice"
  return 0
}
stop_observers() {
  local pid
  [ -n "$scraper_pid" ] && stop_pid "$scraper_pid"
  scraper_pid=""
  for pid in "${dashboard_pids[@]:-}"; do [ -n "$pid" ] && stop_pid "$pid"; done
  dashboard_pids=()
}
serial_pid=""
start_serial() {  # start_serial LOG_LEVEL: a second Sluice with the flags earlier runs used (compare part only)
  [ -n "$serial_pid" ] && stop_pid "$serial_pid"
  launch_sluice sluice-serial "$SERIAL_PORT" "$SERIAL_METRICS_PORT" "$1" "$SERIAL_JAVA_OPTS"
  serial_pid="$launched_pid"
}

url_of() {  # url_of TARGET
  case "$1" in
    direct) echo "http://127.0.0.1:$SIM_PORT/v1/chat/completions" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" ;;
    nginx-1w) echo "http://127.0.0.1:$NGINX1_PORT/v1/chat/completions" ;;
    sluice-serial*) echo "http://127.0.0.1:$SERIAL_PORT/v1/chat/completions" ;;
    sluice-nometrics*) echo "http://127.0.0.1:$NOMETRICS_PORT/v1/chat/completions" ;;
    sluice*) echo "http://127.0.0.1:$SLUICE_PORT/v1/chat/completions" ;;
  esac
}
body_of() {  # sluice-pt* uses the passthrough route (model bench/x); everything else model nvidia/x
  case "$1" in sluice-pt*) echo "$BODY_PASS" ;; *) echo "$BODY_POOL" ;; esac
}
rotate() {  # rotate N ITEMS...: the items rotated left by N (interleaving without a fixed order bias)
  local n="$1"; shift
  local items=("$@") k="${#items[@]}" i
  for i in $(seq 0 $((k - 1))); do echo "${items[$(((i + n) % k))]}"; done
}

proxy_pids() {  # proxy_pids TARGET: the processes doing the proxying for TARGET (none for direct)
  case "$1" in
    nginx) echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')" ;;
    nginx-1w) echo "$nginx1_pid $(pgrep -P "$nginx1_pid" | tr '\n' ' ')" ;;
    sluice-serial*) echo "$serial_pid" ;;
    sluice-nometrics*) echo "$nometrics_pid" ;;
    sluice*) echo "$sluice_pid" ;;
  esac
}
cpu_ms() {  # cpu_ms PIDS...: user + system CPU time consumed so far, in milliseconds
  local hz total=0 pid t
  hz="$(getconf CLK_TCK)"
  for pid in "$@"; do
    t="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
    total=$((total + t))
  done
  echo $((total * 1000 / hz))
}
cpu_line() {  # cpu_line SCENARIO TARGET ROUND CPU_MS REQUESTS
  printf '{"mode":"cpu","scenario":"%s","target":"%s","round":"%s","cpu_ms":%s,"requests":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" >>"$results"
}

open_args() {  # the open loop's connection options: OPEN_CONNECTIONS, all taken in turn if OPEN_ROUND_ROBIN=1
  echo "--max-connections $OPEN_CONNECTIONS"
  [ "$OPEN_ROUND_ROBIN" = 1 ] && echo "--round-robin"
  return 0
}
open_run() {  # open_run SCENARIO RATE TARGET ROUND
  log "open loop $2 req/s -> $3 (round $4, $(open_args | tr '\n' ' '))"
  local procs before after
  procs="$(proxy_pids "$3")"
  before="$(cpu_ms $procs)"
  # shellcheck disable=SC2046
  loadgen $((DURATION + WARMUP + 40)) open --url "$(url_of "$3")" --rate "$2" --duration "$DURATION" \
    --warmup "$WARMUP" $(open_args) --body "$(body_of "$3")" \
    --tag "scenario=$1" --tag "target=$3" --tag "round=$4"
  after="$(cpu_ms $procs)"
  [ -n "$procs" ] && cpu_line "$1" "$3" "$4" $((after - before)) $(($2 * (DURATION + WARMUP)))
  load_line "$1" "$3" "$4"
  return 0
}
closed_run() {  # closed_run TARGET ROUND [SCENARIO]: wrk (WRK_THREADS, CLOSED_CONNECTIONS), the same client for all
  local scenario="${3:-closed}"
  log "closed loop, wrk -t$WRK_THREADS -c$CLOSED_CONNECTIONS -> $1 (round $2)"
  WRK_BODY="$(body_of "$1")" timeout 30 wrk -t"$WRK_THREADS" -c"$CLOSED_CONNECTIONS" -d2s -s "$here/wrk-post.lua" \
    "$(url_of "$1")" >/dev/null 2>&1 || true   # warm-up, discarded
  local procs before after ok wrk_out="$out/wrk-$scenario-$1-$2.txt"
  procs="$(proxy_pids "$1")"
  before="$(cpu_ms $procs)"
  WRK_BODY="$(body_of "$1")" WRK_CONNECTIONS="$CLOSED_CONNECTIONS" \
    WRK_TAGS="\"scenario\":\"$scenario\",\"target\":\"$1\",\"round\":\"$2\"," \
    timeout $((CLOSED_SECONDS + 30)) wrk -t"$WRK_THREADS" -c"$CLOSED_CONNECTIONS" -d"${CLOSED_SECONDS}s" \
    -s "$here/wrk-post.lua" "$(url_of "$1")" >"$wrk_out" 2>&1 || log "wrk failed: $1"
  after="$(cpu_ms $procs)"
  grep '^{' "$wrk_out" >>"$results" || true
  ok="$(grep -o '"ok":[0-9]*' "$wrk_out" | cut -d: -f2 || true)"
  [ -n "$procs" ] && [ -n "$ok" ] && cpu_line "$scenario" "$1" "$2" $((after - before)) "$ok"
  load_line "$scenario" "$1" "$2"
  return 0
}
stream_run() {  # stream_run SCENARIO TARGET ROUND STREAMS PER_TOKEN_MS TOKENS RAMP LIMIT WARMUP_STREAMS
  log "streams: $4 -> $2 (round $3)"
  loadgen $(($8 + 60)) stream --url "$(url_of "$2")" --streams "$4" --per-token-ms "$5" --expect-content "$6" \
    --ramp "$7" --duration-limit "$8" --warmup-streams "$9" \
    --body "$(body_of "$2" | sed 's/^{/{"stream":true,/')" \
    --tag "scenario=$1" --tag "target=$2" --tag "round=$3"
  load_line "$1" "$2" "$3"
}

meta() {
  printf '{"mode":"meta","date":"%s","part":"%s","quick":"%s","cpus":"%s","kernel":"%s","java":"%s",' \
    "$(date -u +%FT%TZ)" "$part" "${QUICK:-0}" "$(nproc)" "$(uname -r)" \
    "$("$JAVA" -version 2>&1 | head -1 | tr -d '"')" >>"$results"
  printf '"nginx":"%s","nginx_workers":"%s","sluice_jvm":"%s","rounds":"%s","open_duration_s":"%s",' \
    "$("$NGINX" -v 2>&1 | sed 's/.*: //')" "$NGINX_WORKERS" "launcher defaults + SLUICE_JAVA_OPTS='$SLUICE_JAVA_OPTS'" "$ROUNDS" "$DURATION" >>"$results"
  printf '"sluice_backends":"%s","soak_jvm":"launcher defaults + %s",' "$SLUICE_BACKENDS" "'$SOAK_JAVA_OPTS'" \
    >>"$results"
  printf '"open":"%s","closed":"wrk -t%s -c%s -d%ss","soak":"%s streams, %s ms/token, %s tokens, ramp %s s",' \
    "$(open_args | tr '\n' ' ')" "$WRK_THREADS" "$CLOSED_CONNECTIONS" "$CLOSED_SECONDS" "$SOAK_STREAMS" "$SOAK_PER_TOKEN_MS" "$SOAK_TOKENS" \
    "$SOAK_RAMP" >>"$results"
  printf '"git":"%s","nice":"%s","loadavg_at_start":"%s"}\n' \
    "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" "$(ps -o ni= -p $$ | tr -d ' ')" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" \
    >>"$results"
  # The machine is shared: say so when someone else is using the CPU, since absolute figures then suffer.
  top -bn2 -d 1 -w 160 | awk '/^top -/ { n++ } n == 2 && $1 ~ /^[0-9]+$/ && $9 > 20' | head -5 \
    >"$out/busy-at-start.txt" || true
  if [ -s "$out/busy-at-start.txt" ]; then
    log "warning: other processes are busy (load $(cut -d' ' -f1-3 /proc/loadavg)); absolute figures will suffer:"
    cat "$out/busy-at-start.txt" >&2
  fi
}

# ---- parts ----
latency_part() {
  start_sim --ttft-ms 0 --per-token-ms 0
  start_nginx
  start_sluice WARN
  local targets=(direct nginx sluice sluice-pt) r t
  if [ "$METRICS_COMPARATOR" = 1 ]; then
    start_nometrics WARN
    targets=(direct nginx sluice sluice-nometrics sluice-pt)
  fi
  start_observers
  log "warm-up: wrk for 5 s, then 1000 req/s for 3 s, per target (discarded)"
  for t in "${targets[@]}"; do warm "$t"; done
  for r in $(seq 1 "$ROUNDS"); do
    for t in $(rotate $((r - 1)) "${targets[@]}"); do open_run open500 500 "$t" "$r"; done
    for t in $(rotate $((r - 1)) "${targets[@]}"); do open_run open2000 2000 "$t" "$r"; done
    for t in $(rotate $((r - 1)) "${targets[@]}"); do closed_run "$t" "$r"; done
  done
  stop_observers
  [ -n "$nometrics_pid" ] && { stop_pid "$nometrics_pid"; nometrics_pid=""; }
  # Users run with the default INFO level: one JSON log line per request, on stdout (here into a file).
  start_sluice INFO
  local info_targets=(direct nginx sluice-info)
  warm sluice-info
  for r in $(seq 1 "$INFO_ROUNDS"); do
    for t in $(rotate $((r - 1)) "${info_targets[@]}"); do open_run open2000-info 2000 "$t" "$r"; done
  done
  stop_pid "$sluice_pid"; sluice_pid=""
}

stream_part() {
  start_sim --ttft-ms 0 --per-token-ms "$STREAM_PER_TOKEN_MS" --completion-tokens "$STREAM_TOKENS"
  [ -n "$nginx_pid" ] || start_nginx
  start_sluice WARN
  local targets=(direct nginx sluice sluice-pt) r t
  local limit=$(( STREAM_TOKENS * STREAM_PER_TOKEN_MS / 1000 + 30 ))
  log "warm-up: wrk streams of 2 chunks for 5 s, then 3 s with a new connection each, per target (discarded)"
  for t in "${targets[@]}"; do warm_stream "$t"; done
  for r in $(seq 1 "$STREAM_ROUNDS"); do
    for t in $(rotate $((r - 1)) "${targets[@]}"); do
      stream_run stream "$t" "$r" "$STREAMS" "$STREAM_PER_TOKEN_MS" "$STREAM_TOKENS" 1 "$limit" "$STREAMS"
    done
  done
  stop_pid "$sluice_pid"; sluice_pid=""
}

soak_part() {
  start_sim --ttft-ms 0 --per-token-ms "$SOAK_PER_TOKEN_MS" --completion-tokens "$SOAK_TOKENS"
  JVM_OPTS="$SOAK_JAVA_OPTS" start_sluice WARN
  # A short warm-up of the streaming path, then the RSS baseline.
  stream_run soak-warmup sluice 1 100 "$SOAK_PER_TOKEN_MS" "$SOAK_TOKENS" 1 \
    $(( SOAK_TOKENS * SOAK_PER_TOKEN_MS / 1000 + 30 )) 0
  local baseline; baseline="$(ps -o rss= -p "$sluice_pid" | tr -d ' ')"
  local rssfile="$out/soak-rss.txt"
  : >"$rssfile"
  ( while kill -0 "$sluice_pid" 2>/dev/null; do
      echo "$(date +%s.%N) $(ps -o rss= -p "$sluice_pid" | tr -d ' ')" >>"$rssfile"; sleep 0.5
    done ) &
  local sampler=$!; pids+=("$sampler")
  local limit=$(( SOAK_TOKENS * SOAK_PER_TOKEN_MS / 1000 + SOAK_RAMP + 60 ))
  local sluice_before sim_before
  sluice_before="$(cpu_ms "$sluice_pid")"; sim_before="$(cpu_ms "$sim_pid")"
  stream_run soak sluice 1 "$SOAK_STREAMS" "$SOAK_PER_TOKEN_MS" "$SOAK_TOKENS" "$SOAK_RAMP" "$limit" 0
  cpu_line soak sluice 1 $(( $(cpu_ms "$sluice_pid") - sluice_before )) "$SOAK_STREAMS"
  cpu_line soak sim 1 $(( $(cpu_ms "$sim_pid") - sim_before )) "$SOAK_STREAMS"
  stop_pid "$sampler"
  local peak; peak="$(awk '$2 > m { m = $2 } END { print m + 0 }' "$rssfile")"
  awk -v b="$baseline" -v p="$peak" -v n="$(wc -l <"$rssfile")" 'BEGIN {
    printf "{\"scenario\":\"soak\",\"mode\":\"rss\",\"baseline_rss_mb\":%.1f,\"peak_rss_mb\":%.1f,\"samples\":%d}\n",
      b / 1024, p / 1024, n }' >>"$results"
  log "soak: Sluice RSS baseline $((baseline / 1024)) MiB, peak $((peak / 1024)) MiB"
  curl -s "http://127.0.0.1:$SIM_PORT/sim/stats" >"$out/soak-sim-stats.json" || true
  curl -s "http://127.0.0.1:$SLUICE_PORT/status" >"$out/soak-sluice-status.json" || true
  stop_pid "$sluice_pid"; sluice_pid=""
}

profile_part() {  # JFR of Sluice under the 2,000 req/s open loop (pool route)
  start_sim --ttft-ms 0 --per-token-ms 0
  local jfr="$out/sluice-2000rps.jfr"
  # Recording starts 15 s after launch (after the ~10 s warm-up) and covers PROFILE_SECONDS of the 2,000 req/s run.
  start_sluice WARN \
    "-XX:StartFlightRecording=delay=15s,duration=${PROFILE_SECONDS}s,filename=$jfr,settings=profile,dumponexit=true"
  warm sluice
  DURATION=$((PROFILE_SECONDS + 8)) open_run profile2000 2000 sluice 1
  local i
  for i in $(seq 1 30); do [ -s "$jfr" ] && break; sleep 1; done
  stop_pid "$sluice_pid"; sluice_pid=""
  if [ -s "$jfr" ]; then
    "$JAVA_HOME_25/bin/jfr" view --width 160 hot-methods "$jfr" >"$out/profile-hot-methods.txt" 2>&1 || true
    # Frames of the execution samples: inclusive (a method counted once per sample it is on) and top-of-stack.
    "$JAVA_HOME_25/bin/jfr" print --events jdk.ExecutionSample --stack-depth 64 "$jfr" | awk '
      /stackTrace = \[/ { in_stack = 1; delete seen; next }
      in_stack && /^[[:space:]]*\]/ { in_stack = 0; next }
      in_stack { sub(/[[:space:]]+line:.*/, ""); sub(/^[[:space:]]+/, ""); if (!($0 in seen)) { seen[$0] = 1; print } }' \
      | sort | uniq -c | sort -rn | head -60 >"$out/profile-frames.txt" || true
    "$JAVA_HOME_25/bin/jfr" print --events jdk.ExecutionSample --stack-depth 1 "$jfr" | awk '
      /stackTrace = \[/ { getline; sub(/[[:space:]]+line:.*/, ""); sub(/^[[:space:]]+/, ""); print }' \
      | sort | uniq -c | sort -rn | head -40 >"$out/profile-top-frames.txt" || true
    "$JAVA_HOME_25/bin/jfr" view --width 160 gc "$jfr" >"$out/profile-gc.txt" 2>&1 || true
    "$JAVA_HOME_25/bin/jfr" view --width 160 allocation-by-class "$jfr" >"$out/profile-alloc.txt" 2>&1 || true
    log "profile: $jfr (top frames in $out/profile-top-frames.txt)"
    head -25 "$out/profile-top-frames.txt" >&2 || true
  else
    log "profile: no recording was written"
  fi
}

compare_part() {
  # Why an independent run and this benchmark disagreed: each difference between them, side by side in one
  # invocation, interleaved like the other parts. Targets: nginx with 2 workers (this benchmark) and with 1 (the
  # independent run); Sluice through the launcher with its defaults (G1, what users get) and with the flags this
  # benchmark used before (-Xmx256m -XX:+UseSerialGC). Shapes: the open loop through 64 connections that Jetty's
  # pool hands out first-idle (this benchmark; the lowest few carry most requests) and through 512 connections taken
  # in turn (the independent run's 512 sockets); wrk -t2 -c64 and -t1 -c32; 200 streams started over 1 s and all
  # at once; and the first 2,000 req/s run of a Sluice that nothing warmed.
  local r t rate
  start_sim --ttft-ms 0 --per-token-ms 0
  start_nginx
  launch_nginx nginx-1w "$NGINX1_PORT" 1; nginx1_pid="$launched_pid"
  start_sluice WARN
  start_serial WARN
  local targets=(direct nginx nginx-1w sluice sluice-serial)
  for t in direct nginx nginx-1w; do warm "$t"; done
  log "cold: the first 2,000 req/s run through Sluice after its start (direct and nginx warmed)"
  for t in "${targets[@]}"; do open_run cold2000 2000 "$t" 1; done
  for t in sluice sluice-serial; do warm "$t"; done
  for r in $(seq 1 "$ROUNDS"); do
    for rate in 500 2000; do
      for t in $(rotate $((r - 1)) "${targets[@]}"); do
        OPEN_CONNECTIONS=64 OPEN_ROUND_ROBIN=0 open_run "open$rate-first64" "$rate" "$t" "$r"
        OPEN_CONNECTIONS=512 OPEN_ROUND_ROBIN=1 open_run "open$rate-rr512" "$rate" "$t" "$r"
      done
    done
    for t in $(rotate $((r - 1)) "${targets[@]}"); do
      WRK_THREADS=2 CLOSED_CONNECTIONS=64 closed_run "$t" "$r" closed-t2c64
      WRK_THREADS=1 CLOSED_CONNECTIONS=32 closed_run "$t" "$r" closed-t1c32
    done
  done
  start_sim --ttft-ms 0 --per-token-ms "$STREAM_PER_TOKEN_MS" --completion-tokens "$STREAM_TOKENS"
  local limit=$(( STREAM_TOKENS * STREAM_PER_TOKEN_MS / 1000 + 30 ))
  for t in "${targets[@]}"; do warm_stream "$t"; done
  for r in $(seq 1 "$STREAM_ROUNDS"); do
    for t in $(rotate $((r - 1)) "${targets[@]}"); do
      stream_run stream-ramp1 "$t" "$r" "$STREAMS" "$STREAM_PER_TOKEN_MS" "$STREAM_TOKENS" 1 "$limit" "$STREAMS"
      stream_run stream-ramp0 "$t" "$r" "$STREAMS" "$STREAM_PER_TOKEN_MS" "$STREAM_TOKENS" 0 "$limit" "$STREAMS"
    done
  done
  stop_pid "$serial_pid"; serial_pid=""
  stop_pid "$sluice_pid"; sluice_pid=""
}

# ---- main ----
started=$(date +%s)
log "results in $out"
meta
case "$part" in
  latency) latency_part ;;
  stream) stream_part ;;
  soak) soak_part ;;
  profile) profile_part ;;
  compare) compare_part ;;
  all) latency_part; stream_part; soak_part ;;
esac
printf '{"mode":"meta","loadavg_at_end":"%s","elapsed_s":"%s"}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(( $(date +%s) - started ))" >>"$results"
"$JAVA" -cp "$CP" dev.sluice.bench.LoadGen report --results "$results" --out "$out/summary.md"
log "done in $(( $(date +%s) - started )) s (load average now $(cut -d' ' -f1-3 /proc/loadavg)); results in $out"
