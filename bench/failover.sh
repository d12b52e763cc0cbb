#!/usr/bin/env bash
# Sluice many-backends failover benchmark: three simulated keys of one provider behind one Sluice pool, callers
# offering more than the keys allow, and two of the keys failing mid-run.
#
#   bench/failover.sh           the full run (about 6 minutes): 150 RPM of mixed priorities for 240 s; at 90 s
#                               the first key's provider starts refusing connections, at 150 s the second key is
#                               answered 401; report per minute.
#   QUICK=1 bench/failover.sh   a smoke run (about 2 minutes): 60 s, the events at 20 s and 40 s, 20 s windows.
#
# The provider: `sluice sim --providers 3` (one process, three ports), each told by POST /sim/config a hidden limit
# of 40 requests per trailing 60 s (rate_algorithm sliding_window: a provider counting the last minute), 4 calls in
# flight, and calls of 2 s (400 ms to the first token + 8 tokens of 200 ms; a non-streamed answer comes whole after
# 2 s). Sluice: `sluice serve --config` through the launcher, as users run it, from bench/failover.yaml (published
# limit 40 RPM per key; the keys from the environment). Load: src/test/java/dev/sluice/bench/FailoverLoad.java.
#
# Results: bench-results/failover-<timestamp>/summary.md, with requests.csv (one line per request: send instant,
# priority, status, error code, latency, X-Sluice-Queue-Ms), sim-stats.jsonl (every sim's counters at each window
# boundary, before each event and after the drain), status.jsonl (Sluice's /status every 5 s), status-end.json,
# windows.json, backend-events.log (Sluice's log lines about its backends: dead keys, probes, retreat), and both
# processes' logs.
# Every load run is bounded in count and time; every process started here is stopped on exit.
#
# Knobs (environment): SEED (42), SIM_PORT (9330; the three sims use it and the next two), SLUICE_PORT (9340),
# SLUICE_METRICS_PORT (9341).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

# ---- settings ----
SIM_PORT="${SIM_PORT:-9330}"; SLUICE_PORT="${SLUICE_PORT:-9340}"; SLUICE_METRICS_PORT="${SLUICE_METRICS_PORT:-9341}"
SEED="${SEED:-42}"
KEYS=3; KEY_RPM=40; KEY_MAX_CONCURRENT=4
# a call of 2 s: time to first token + completion tokens x time per token
TTFT_MS=400; PER_TOKEN_MS=200; COMPLETION_TOKENS=8
OFFERED_RPM=150; RATE="$(awk -v rpm="$OFFERED_RPM" 'BEGIN { printf "%.6f", rpm / 60 }')"
REFUSE_SIM=1; REJECT_SIM=2
CLIENT_TIMEOUT=120; STATUS_EVERY=5
MODEL=meta/llama-3.3-70b-instruct
if [ "${QUICK:-0}" = 1 ]; then
  DURATION=60; WINDOW=20; REFUSE_AT=20; REJECT_AT=40
else
  DURATION=240; WINDOW=60; REFUSE_AT=90; REJECT_AT=150
fi
sim_ports=(); for i in $(seq 0 $((KEYS - 1))); do sim_ports+=($((SIM_PORT + i))); done

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/failover-$stamp"
mkdir -p "$out"
BENCH_NAME=failover
. "$here/common.sh"
require_free_ports "${sim_ports[@]}" "$SLUICE_PORT" "$SLUICE_METRICS_PORT"

build_jar
compile_driver src/test/java/dev/sluice/bench/FailoverLoad.java src/test/java/dev/sluice/bench/FailoverReport.java \
  src/test/java/dev/sluice/bench/Schedule.java src/test/java/dev/sluice/bench/ShapingLoad.java \
  src/test/java/dev/sluice/bench/Ranges.java "${DRIVER_SHARED[@]}"
code_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain -- src/main pom.xml 2>/dev/null)" ] \
  && code_rev="$code_rev + uncommitted changes in src/main"
# The launcher runs target/sluice.jar beside itself: lay out a copy of it next to the jar measured.
mkdir -p "$out/launcher/target"
cp "$root/sluice" "$out/launcher/sluice"
cp "$jar" "$out/launcher/target/sluice.jar"
launcher="$out/launcher/sluice"

# Made-up keys, new each run, only in the environment of Sluice and the driver (which tells sim 2 to reject its key).
for i in $(seq 1 $KEYS); do
  export "FAILOVER_KEY_$i=sk-bench-failover-$i-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
done

# ---- the simulated provider: three keys in one process ----
JAVA_HOME="$JAVA_HOME_25" "$launcher" sim --providers "$KEYS" --port "$SIM_PORT" --seed "$SEED" >"$out/sim.log" 2>&1 &
sim_pid=$!; pids+=("$sim_pid")
sim_config="{\"rpm\":$KEY_RPM,\"rate_algorithm\":\"sliding_window\",\"max_concurrent\":$KEY_MAX_CONCURRENT,\
\"ttft_millis\":$TTFT_MS,\"per_token_millis\":$PER_TOKEN_MS,\"completion_tokens\":$COMPLETION_TOKENS}"
sims=""
for i in $(seq 1 $KEYS); do
  port="${sim_ports[$((i - 1))]}"
  wait_http "http://127.0.0.1:$port/sim/stats" "sim $i" "$sim_pid" "$out/sim.log"
  curl -sf -X POST --max-time 5 -H 'Content-Type: application/json' -d "$sim_config" \
    "http://127.0.0.1:$port/sim/config" >"$out/sim-config-$i.json" || die "sim $i refused its config: $sim_config"
  curl -sf -X POST --max-time 5 "http://127.0.0.1:$port/sim/reset-stats" >/dev/null
  sims="${sims:+$sims,}http://127.0.0.1:$port"
done
log "sim pid $sim_pid on :${sim_ports[*]} ($sim_config)"

# ---- Sluice, through the launcher, from bench/failover.yaml (the SIDECAR_* environment cleared) ----
sed -e "s/@SLUICE_PORT@/$SLUICE_PORT/" -e "s/@METRICS_PORT@/$SLUICE_METRICS_PORT/" \
  -e "s/@SIM_PORT_1@/${sim_ports[0]}/" -e "s/@SIM_PORT_2@/${sim_ports[1]}/" -e "s/@SIM_PORT_3@/${sim_ports[2]}/" \
  "$here/failover.yaml" >"$out/failover.yaml"
# Its state store is a new file of this run's: a ./data/sluice.db left by an earlier run would bring back its dead key.
env $(env | sed -n 's/^\(SIDECAR_[A-Z_]*\)=.*/-u \1/p') SIDECAR_DB_PATH="$out/sluice.db" JAVA_HOME="$JAVA_HOME_25" \
  "$launcher" serve --config "$out/failover.yaml" >"$out/sluice.log" 2>&1 &
sluice_pid=$!; pids+=("$sluice_pid")
wait_http "http://127.0.0.1:$SLUICE_PORT/health" sluice "$sluice_pid" "$out/sluice.log"
log "sluice pid $sluice_pid on :$SLUICE_PORT: $(tr '\0' ' ' <"/proc/$sluice_pid/cmdline")"

# ---- the load ----
log "$DURATION s at $OFFERED_RPM RPM; sim $REFUSE_SIM refuses connections at $REFUSE_AT s," \
  "sim $REJECT_SIM answers 401 at $REJECT_AT s"
args=(--target "http://127.0.0.1:$SLUICE_PORT/v1/chat/completions" --status "http://127.0.0.1:$SLUICE_PORT/status"
  --sims "$sims" --rate "$RATE" --duration "$DURATION" --window "$WINDOW" --seed "$SEED" --model "$MODEL"
  --key-rpm "$KEY_RPM" --refuse-at "$REFUSE_AT" --refuse-sim "$REFUSE_SIM" --reject-at "$REJECT_AT"
  --reject-sim "$REJECT_SIM" --reject-key-env "FAILOVER_KEY_$REJECT_SIM" --client-timeout "$CLIENT_TIMEOUT"
  --status-every "$STATUS_EVERY" --out "$out")
# bounded: the run, the drain (client timeout + 15 s) and a margin
driver_ok=1
if ! timeout --kill-after=10 $((DURATION + CLIENT_TIMEOUT + 90)) \
    "$JAVA" -Xms128m -Xmx256m -XX:+UseSerialGC -cp "$CP" dev.sluice.bench.FailoverLoad "${args[@]}" \
    >"$out/driver.out" 2>"$out/driver.log"; then
  driver_ok=0
  log "the driver failed or timed out; see $out/driver.log"
fi
curl -s --max-time 5 "http://127.0.0.1:$SLUICE_PORT/status" >"$out/status-end.json" || true
grep -E '"logger":"sluice\.(backend|retreat)"' "$out/sluice.log" >"$out/backend-events.log" || true
stop_pid "$sluice_pid"
stop_pid "$sim_pid"
# The report again, now that Sluice's log is complete: a refused request that Sluice had retried after a failed
# attempt (its log says "retried":"reset", "connect", "401", ...) counts against the keys.
if [ "$driver_ok" = 1 ] && ! "$JAVA" -cp "$CP" dev.sluice.bench.FailoverLoad "${args[@]}" --report-only \
    --sluice-log "$out/sluice.log" >"$out/driver.out" 2>>"$out/driver.log"; then
  driver_ok=0
  log "the report from Sluice's log failed; see $out/driver.log"
fi

# ---- summary ----
summary="$out/summary.md"
{
  echo "# Sluice failover benchmark ($stamp${QUICK:+, QUICK=$QUICK})"
  echo
  cat <<EOF | fmt -w 116
Three simulated keys of one provider (\`sluice sim --providers $KEYS\`, one process on ports ${sim_ports[*]}), each
with a hidden limit of $KEY_RPM requests per trailing 60 s (sliding_window), $KEY_MAX_CONCURRENT calls in flight,
and calls of 2 s ($TTFT_MS ms to the first token + $COMPLETION_TOKENS tokens x $PER_TOKEN_MS ms). Sluice through
the launcher (\`sluice serve --config failover.yaml\`, bench/failover.yaml): one pool, three backends with their
own keys at their published $KEY_RPM RPM, capacity 1, balanced, max_attempts 3, first byte within 10 s, adaptive
concurrency, cooldowns and the rest at their defaults. Callers: $OFFERED_RPM RPM open loop, evenly spaced, seed
$SEED, X-Priority 10 % urgent / 20 % high / 40 % normal / 30 % low, model $MODEL, 8 completion tokens, client
timeout $CLIENT_TIMEOUT s. At $REFUSE_AT s sim $REFUSE_SIM (key-$REFUSE_SIM) starts refusing connections
(refuse_connections_seconds 86400); at $REJECT_AT s sim $REJECT_SIM answers 401 to key-$REJECT_SIM (rejected_keys).
EOF
  echo
  cat <<EOF | fmt -w 116
Windows of $WINDOW s. Allowance = $KEY_RPM RPM per live key, time-weighted in a window where a key is lost.
Goodput = the 200s whose answer arrived in the window. Upstream 429 share = the sims' 429s over the attempts they
saw (accepted + 429 + 401), deltas of /sim/stats between the window's boundaries, over all three (a sim that refuses
connections cannot be read and sees no attempts: its last reading counts). Client errors are those of the requests
sent in the window, by status and code; caused by the keys = 401/403, 502/504, 503 no_backend_available (any 5xx
but Sluice's queue_full/evicted), connections to Sluice that broke, and any refusal of a request that Sluice had
retried after an attempt failed on a key (its log: "retried" reset, connect, 401, ...); Sluice's own 429
rate_limited and 503 queue_full/evicted refuse what the live keys cannot take. Urgent wait = X-Sluice-Queue-Ms of the urgent requests
sent in the window (p99 by nearest rank).
EOF
  echo
  echo "Code: $code_rev. Machine: $(nproc) CPUs; $(uname -sr);" \
    "$(uptime | sed 's/.*load average/load average/') at the end."
  echo
  if [ "$driver_ok" = 1 ] && [ -f "$out/section.md" ]; then
    cat "$out/section.md"
  else
    echo "The driver failed: see driver.log."
  fi
} >"$summary"
log "summary: $summary"
cat "$summary"
[ "$driver_ok" = 1 ]
