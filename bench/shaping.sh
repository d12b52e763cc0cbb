#!/usr/bin/env bash
# Sluice traffic-shaping benchmark: an open-loop 1,200 RPM of mixed-priority chat completions offered to a simulated
# provider whose hidden limit is 600 RPM (Sluice is configured for 900 RPM and must find the real limit itself).
#
#   bench/shaping.sh            scenarios sluice (240 s), direct (180 s), drop (360 s; 600 -> 300 RPM at 180 s)
#   QUICK=1 bench/shaping.sh    a smoke run with 10 s windows (about 2 minutes in all)
#
# Results: bench-results/shaping-<timestamp>/summary.md, and per scenario requests.csv, sim-stats.jsonl,
# status.jsonl (Sluice's /status every 5 s), windows.json, the sim's and Sluice's logs. Every load run is bounded
# in count and time; every process started here is stopped on exit.
#
# Knobs (environment): RATE (req/s, 20), SEED (42), ARRIVALS (even|poisson), SCENARIOS ("sluice direct drop"),
# SIM_PORT (9310), SLUICE_PORT (9320), SLUICE_METRICS_PORT (9321).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

# ---- settings ----
SIM_PORT="${SIM_PORT:-9310}"; SLUICE_PORT="${SLUICE_PORT:-9320}"; SLUICE_METRICS_PORT="${SLUICE_METRICS_PORT:-9321}"
RATE="${RATE:-20}"; SEED="${SEED:-42}"; ARRIVALS="${ARRIVALS:-even}"; LIMIT=600; DROP_RPM=300
SCENARIOS="${SCENARIOS:-sluice direct drop}"
CLIENT_TIMEOUT=120; STATUS_EVERY=5
if [ "${QUICK:-0}" = 1 ]; then
  WINDOW=10; DUR_SLUICE=40; DUR_DIRECT=20; DUR_DROP=40; DROP_AT=20
else
  WINDOW=60; DUR_SLUICE=240; DUR_DIRECT=180; DUR_DROP=360; DROP_AT=180
fi
JAVA_OPTS="-Xms256m -Xmx256m -XX:+UseSerialGC"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/shaping-$stamp"
mkdir -p "$out"
BENCH_NAME=shaping
. "$here/common.sh"
require_free_ports "$SIM_PORT" "$SLUICE_PORT" "$SLUICE_METRICS_PORT"

build_jar
compile_driver src/test/java/dev/sluice/bench/ShapingLoad.java src/test/java/dev/sluice/bench/Ranges.java
code_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain -- src/main pom.xml 2>/dev/null)" ] && code_rev="$code_rev + uncommitted changes in src/main"

# ---- processes ----
sim_pid=""
start_sim() {  # start_sim DIR: a fresh sim (so every scenario starts from zeroed counters and a full bucket)
  [ -n "$sim_pid" ] && stop_pid "$sim_pid"
  "$JAVA" $JAVA_OPTS -jar "$jar" sim --port "$SIM_PORT" --rpm "$LIMIT" --burst 10 --ttft-ms 0 --per-token-ms 0 \
    --completion-tokens 8 >"$1/sim.log" 2>&1 &
  sim_pid=$!; pids+=("$sim_pid")
  wait_http "http://127.0.0.1:$SIM_PORT/sim/stats" sim "$sim_pid" "$1/sim.log"
  curl -s -X POST --max-time 5 "http://127.0.0.1:$SIM_PORT/sim/reset-stats" >/dev/null
  log "sim pid $sim_pid on :$SIM_PORT (hidden limit $LIMIT RPM, burst 10)"
}

sluice_pid=""
start_sluice() {  # start_sluice DIR: a fresh Sluice with bench/shaping.yaml (the SIDECAR_* environment cleared)
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"
  sed -e "s/@SLUICE_PORT@/$SLUICE_PORT/" -e "s/@METRICS_PORT@/$SLUICE_METRICS_PORT/" -e "s/@SIM_PORT@/$SIM_PORT/" \
    "$here/shaping.yaml" >"$1/shaping.yaml"
  env $(env | sed -n 's/^\(SIDECAR_[A-Z_]*\)=.*/-u \1/p') \
    "$JAVA" $JAVA_OPTS -jar "$jar" serve --config "$1/shaping.yaml" >"$1/sluice.log" 2>&1 &
  sluice_pid=$!; pids+=("$sluice_pid")
  wait_http "http://127.0.0.1:$SLUICE_PORT/health" sluice "$sluice_pid" "$1/sluice.log"
  log "sluice pid $sluice_pid on :$SLUICE_PORT"
}

stop_all() {
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"; sluice_pid=""
  [ -n "$sim_pid" ] && stop_pid "$sim_pid"; sim_pid=""
}

run_scenario() {  # run_scenario NAME DURATION [DROP_AT]
  local name="$1" duration="$2" drop="${3:--1}" dir="$out/$1" args
  mkdir -p "$dir"
  start_sim "$dir"
  args=(--scenario "$name" --sim "http://127.0.0.1:$SIM_PORT" --rate "$RATE" --duration "$duration"
    --window "$WINDOW" --seed "$SEED" --arrivals "$ARRIVALS" --limit "$LIMIT" --drop-at "$drop" --drop-rpm "$DROP_RPM"
    --client-timeout "$CLIENT_TIMEOUT" --status-every "$STATUS_EVERY" --out "$dir")
  if [ "$name" = direct ]; then
    args+=(--target "http://127.0.0.1:$SIM_PORT/v1/chat/completions")
  else
    start_sluice "$dir"
    args+=(--target "http://127.0.0.1:$SLUICE_PORT/v1/chat/completions" --status "http://127.0.0.1:$SLUICE_PORT/status")
  fi
  log "scenario $name: $duration s at $RATE req/s${3:+, hidden limit -> $DROP_RPM RPM at $drop s}"
  # bounded: the run, the drain (client timeout + 15 s) and a margin
  if ! timeout --kill-after=10 $((duration + CLIENT_TIMEOUT + 90)) \
      "$JAVA" $JAVA_OPTS -cp "$CP" dev.sluice.bench.ShapingLoad "${args[@]}" >"$dir/driver.out" 2>"$dir/driver.log"; then
    log "driver failed or timed out for $name; see $dir/driver.log"
    echo "### Scenario \`$name\`: the driver failed (see $name/driver.log)" >"$dir/section.md"
  fi
  if [ -f "$dir/sluice.log" ]; then
    grep '"logger":"sluice.retreat"' "$dir/sluice.log" >"$dir/retreat.log" || true
  fi
  stop_all
}

for s in $SCENARIOS; do
  case "$s" in
    sluice) run_scenario sluice "$DUR_SLUICE" ;;
    direct) run_scenario direct "$DUR_DIRECT" ;;
    drop) run_scenario drop "$DUR_DROP" "$DROP_AT" ;;
    *) echo "shaping: unknown scenario $s" >&2; exit 2 ;;
  esac
done

# ---- summary ----
summary="$out/summary.md"
{
  echo "# Sluice traffic-shaping benchmark ($stamp${QUICK:+, QUICK=$QUICK})"
  echo
  echo "Offered: open loop, $RATE req/s ($((RATE * 60)) RPM), $ARRIVALS arrivals, seed $SEED; non-streaming chat"
  echo "completions, X-Priority 10 % urgent / 20 % high / 40 % normal / 30 % low; client timeout ${CLIENT_TIMEOUT} s."
  echo "Sim: hidden limit $LIMIT RPM (token bucket, burst 10), 0 ms latency, 8 completion tokens. Sluice: pool nvidia,"
  echo "one backend configured at rate_rpm 900 / capacity 15 (not told the real limit), queue 300 drop_lowest,"
  echo "max_attempts 3, timeout 60 s, low-priority head timeout 2 s. Windows of $WINDOW s; goodput = delta of the sim's"
  echo "accepted counter per window (as RPM); 429 % = delta rejected_429 / (delta accepted + delta rejected_429);"
  echo "latencies are from the intended send instant to the whole answer, for 200s, by send window. Non-200 answers:"
  echo "Sluice's own refusals (429 rate_limited = waited past its deadline or low-priority head timeout; 503 evicted /"
  echo "queue_full = drop_lowest on a full queue) and the upstream's 429 rate_limit_exceeded (through Sluice: still 429"
  echo "after max_attempts). Send lag = how late the driver sent a request (a loaded machine; counted in latency)."
  echo
  echo "Targets per window after the first (in drop: windows ending by the drop against $LIMIT, windows starting one"
  echo "window or more after the drop against $DROP_RPM; the window right after the drop is a transition): goodput"
  echo ">= 95 % of the hidden limit, upstream 429 share <= 2 %, urgent p99 <= 2 s, every request answered. The"
  echo "\`direct\` scenario is the baseline without Sluice; its verdicts show what the targets mean, not Sluice."
  echo "Code: $code_rev. Machine: $(nproc) CPUs; $(uname -sr); $(uptime | sed 's/.*load average/load average/') at the end"
  echo "(other work on the machine shows as send lag and late samples, noted per window)."
  echo
  for s in $SCENARIOS; do
    [ -f "$out/$s/section.md" ] && cat "$out/$s/section.md"
    if [ -s "$out/$s/retreat.log" ]; then
      echo "Retreat rate changes logged by Sluice ($s):"
      echo
      echo '```'
      sed -E 's/^\{"ts":"[0-9-]+T([0-9:.]+)Z?",.*"msg":"([^"]*)",(.*)\}$/\1 \2 \3/' "$out/$s/retreat.log"
      echo '```'
      echo
    fi
  done
} >"$summary"
log "summary: $summary"
cat "$summary"
