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
log() { echo "[shaping $(date +%H:%M:%S)] $*" >&2; }

# ---- cleanup: every process started here is recorded and stopped on exit ----
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # stops one recorded process (TERM, then KILL after 10 s) and forgets it
  local pid="$1" i
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local kept=()
  for i in "${pids[@]:-}"; do [ "$i" != "$pid" ] && [ -n "$i" ] && kept+=("$i"); done
  pids=("${kept[@]:-}")
}

# ---- tools ----
JAVA=""
for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java; do
  [ -n "$c" ] && [ -x "$c" ] || continue
  major="$("$c" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1)"
  if [ -n "$major" ] && [ "$major" -ge 25 ]; then JAVA="$c"; break; fi
done
[ -n "$JAVA" ] || { echo "shaping: needs a JDK 25 (JAVA_HOME or /usr/lib/jvm/temurin-25-jdk-amd64)" >&2; exit 1; }
JAVA_HOME_25="$(cd "$(dirname "$JAVA")/.." && pwd)"

for port in "$SIM_PORT" "$SLUICE_PORT" "$SLUICE_METRICS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "shaping: port $port is already in use; stop whatever listens there first" >&2; exit 1
  fi
done

# ---- build: the jar (only if missing or older than the sources) and the driver, compiled on its own; both are
# kept in the results directory so that a rebuild elsewhere cannot change them mid-run ----
if [ ! -f target/sluice.jar ] || [ -n "$(find src/main pom.xml -newer target/sluice.jar -print -quit)" ]; then
  log "building target/sluice.jar"
  JAVA_HOME="$JAVA_HOME_25" ./mvnw -q -B -DskipTests package >"$out/build.log" 2>&1 \
    || { cat "$out/build.log" >&2; echo "shaping: the build failed" >&2; exit 1; }
fi
jar="$out/sluice.jar"
cp target/sluice.jar "$jar"
code_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain -- src/main pom.xml 2>/dev/null)" ] && code_rev="$code_rev + uncommitted changes in src/main"
cpfile="$out/classpath.txt"
if [ -s target/bench-classpath.txt ] && [ target/bench-classpath.txt -nt pom.xml ]; then
  cp target/bench-classpath.txt "$cpfile"
else
  log "resolving the test classpath"
  JAVA_HOME="$JAVA_HOME_25" ./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile="$cpfile" \
    -Dmdep.includeScope=test >&2
fi
classes="$out/driver-classes"
mkdir -p "$classes"
"$JAVA_HOME_25/bin/javac" -nowarn -d "$classes" -cp "$(cat "$cpfile")" src/test/java/dev/sluice/bench/ShapingLoad.java
CP="$classes:$(cat "$cpfile")"

# ---- processes ----
wait_http() {  # wait_http URL NAME PID LOG
  local i
  for i in $(seq 1 150); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$3" 2>/dev/null || { echo "shaping: $2 exited; see $4" >&2; exit 1; }
    sleep 0.2
  done
  echo "shaping: $2 did not answer at $1 within 30 s" >&2; exit 1
}

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
