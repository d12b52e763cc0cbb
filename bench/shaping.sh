#!/usr/bin/env bash
# Sluice traffic-shaping benchmark: open-loop chat completions offered to a simulated provider whose limit is hidden
# from Sluice, every scenario from a cold start (a fresh sim and a fresh Sluice).
#
#   bench/shaping.sh            every scenario (about 35 minutes):
#     sluice (240 s), direct (180 s), drop (360 s; 600 -> 300 RPM at 180 s): 1,200 RPM of mixed priorities against
#       a hidden 600 RPM (token bucket, burst 10, 0 ms), Sluice from bench/shaping.yaml (told 900 RPM);
#     defaults, defaults-sliding, defaults-slow, defaults-sliding-slow (120 s each): 1,200 RPM, all normal, against
#       a hidden 600 RPM (token bucket burst 10 or sliding 60 s window; 0 ms or 1-2 s answers), Sluice from the
#       environment alone with one setting changed, SIDECAR_RATE_RPM=900;
#     published-limit (180 s): 80 RPM against a provider counting a trailing 60 s window at 40 RPM with 4 in
#       flight and 2 s calls, Sluice from the environment with SIDECAR_RATE_RPM=40, its published limit.
#   SCENARIOS="defaults defaults-sliding" bench/shaping.sh    some of them
#   QUICK=1 bench/shaping.sh    a smoke run with 10 s windows and short runs (about 8 minutes in all)
#
# Results: bench-results/shaping-<timestamp>/summary.md, and per scenario requests.csv, sim-stats.jsonl (the last
# line read once every answer was in), sim-config.json, status.jsonl (Sluice's /status every 5 s), windows.json,
# the sim's and Sluice's logs (sluice.env: the environment Sluice was started with). Every load run is bounded in
# count and time; every process started here is stopped on exit.
#
# Knobs (environment): RATE (req/s offered in all but published-limit, 20), SEED (42; the schedule's and the sim's
# dice), ARRIVALS (even|poisson), SCENARIOS (all of the above), SIM_PORT (9310), SLUICE_PORT (9320),
# SLUICE_METRICS_PORT (9321).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

# ---- settings ----
SIM_PORT="${SIM_PORT:-9310}"; SLUICE_PORT="${SLUICE_PORT:-9320}"; SLUICE_METRICS_PORT="${SLUICE_METRICS_PORT:-9321}"
RATE="${RATE:-20}"; SEED="${SEED:-42}"; ARRIVALS="${ARRIVALS:-even}"; LIMIT=600; DROP_RPM=300
ALL_SCENARIOS="sluice direct drop defaults defaults-sliding defaults-slow defaults-sliding-slow published-limit"
SCENARIOS="${SCENARIOS:-$ALL_SCENARIOS}"
CLIENT_TIMEOUT=120; STATUS_EVERY=5
# The defaults scenarios: Sluice from the environment with one setting changed, the rate it is told.
DEFAULTS_SLUICE_RPM=900
# published-limit: the provider's published limit, which Sluice is told exactly, and what the callers offer.
PUBLISHED_RPM=40; PUBLISHED_OFFERED_RPM=80
# Sluice's timeout in every scenario (bench/shaping.yaml's and SIDECAR_TIMEOUT's default): an answer later than this
# plus the sim's largest latency plus 1 s after its intended send is past its deadline.
SLUICE_TIMEOUT=60
# A model the environment-only pool nvidia claims (any other prefix would pass through unshaped); the sim lists it.
ENV_MODEL=nvidia/llama-3.1-nemotron-70b-instruct
if [ "${QUICK:-0}" = 1 ]; then
  WINDOW=10; DUR_SLUICE=40; DUR_DIRECT=20; DUR_DROP=40; DROP_AT=20; DUR_DEFAULTS=30; DUR_PUBLISHED=30
else
  WINDOW=60; DUR_SLUICE=240; DUR_DIRECT=180; DUR_DROP=360; DROP_AT=180; DUR_DEFAULTS=120; DUR_PUBLISHED=180
fi
JAVA_OPTS="-Xms256m -Xmx256m -XX:+UseSerialGC"
for s in $SCENARIOS; do
  case " $ALL_SCENARIOS " in
    *" $s "*) ;;
    *) echo "shaping: unknown scenario $s (known: $ALL_SCENARIOS)" >&2; exit 2 ;;
  esac
done

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/shaping-$stamp"
mkdir -p "$out"
BENCH_NAME=shaping
. "$here/common.sh"
require_free_ports "$SIM_PORT" "$SLUICE_PORT" "$SLUICE_METRICS_PORT"

build_jar
compile_driver src/test/java/dev/sluice/bench/ShapingLoad.java src/test/java/dev/sluice/bench/Schedule.java \
  src/test/java/dev/sluice/bench/Ranges.java "${DRIVER_SHARED[@]}"
code_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain -- src/main pom.xml 2>/dev/null)" ] && code_rev="$code_rev + uncommitted changes in src/main"

# ---- processes ----
sim_pid=""
start_sim() {  # start_sim DIR SIM-OPTION...: a fresh sim (zeroed counters, a full bucket, an empty window)
  local dir="$1"; shift
  [ -n "$sim_pid" ] && stop_pid "$sim_pid"
  "$JAVA" $JAVA_OPTS -jar "$jar" sim --port "$SIM_PORT" --per-token-ms 0 --completion-tokens 8 --seed "$SEED" "$@" \
    >"$dir/sim.log" 2>&1 &
  sim_pid=$!; pids+=("$sim_pid")
  wait_http "http://127.0.0.1:$SIM_PORT/sim/stats" sim "$sim_pid" "$dir/sim.log"
  curl -s -X POST --max-time 5 "http://127.0.0.1:$SIM_PORT/sim/reset-stats" >/dev/null
  curl -s --max-time 5 "http://127.0.0.1:$SIM_PORT/sim/config" >"$dir/sim-config.json"
  log "sim pid $sim_pid on :$SIM_PORT ($*)"
}

# Every Sluice keeps its state in a new file of its scenario (SIDECAR_DB_PATH): a cold start, whatever an earlier
# scenario or run learned.
sluice_pid=""
start_sluice() {  # start_sluice DIR: a fresh Sluice with bench/shaping.yaml (the SIDECAR_* environment cleared)
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"
  sed -e "s/@SLUICE_PORT@/$SLUICE_PORT/" -e "s/@METRICS_PORT@/$SLUICE_METRICS_PORT/" -e "s/@SIM_PORT@/$SIM_PORT/" \
    "$here/shaping.yaml" >"$1/shaping.yaml"
  env $(env | sed -n 's/^\(SIDECAR_[A-Z_]*\)=.*/-u \1/p') SIDECAR_DB_PATH="$1/sluice.db" \
    "$JAVA" $JAVA_OPTS -jar "$jar" serve --config "$1/shaping.yaml" >"$1/sluice.log" 2>&1 &
  sluice_pid=$!; pids+=("$sluice_pid")
  wait_http "http://127.0.0.1:$SLUICE_PORT/health" sluice "$sluice_pid" "$1/sluice.log"
  log "sluice pid $sluice_pid on :$SLUICE_PORT (bench/shaping.yaml)"
}

start_sluice_env() {  # start_sluice_env DIR RATE_RPM: a fresh Sluice from the environment alone, no --config
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"
  local vars=(SIDECAR_UPSTREAM="http://127.0.0.1:$SIM_PORT/v1" SIDECAR_PORT="$SLUICE_PORT"
    SIDECAR_METRICS_PORT="$SLUICE_METRICS_PORT" SIDECAR_RATE_RPM="$2" SIDECAR_DB_PATH="$1/sluice.db")
  printf '%s\n' "${vars[@]}" >"$1/sluice.env"
  env $(env | sed -n 's/^\(SIDECAR_[A-Z_]*\)=.*/-u \1/p') "${vars[@]}" \
    "$JAVA" $JAVA_OPTS -jar "$jar" serve >"$1/sluice.log" 2>&1 &
  sluice_pid=$!; pids+=("$sluice_pid")
  wait_http "http://127.0.0.1:$SLUICE_PORT/health" sluice "$sluice_pid" "$1/sluice.log"
  log "sluice pid $sluice_pid on :$SLUICE_PORT (environment only, SIDECAR_RATE_RPM=$2)"
}

stop_all() {
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"; sluice_pid=""
  [ -n "$sim_pid" ] && stop_pid "$sim_pid"; sim_pid=""
}

# ---- scenarios: each sets what differs, run_scenario does the rest ----
ORIGINAL_SETUP="Sluice from bench/shaping.yaml: pool nvidia, one backend told rate_rpm 900 / capacity 15 (not the
real limit), queue 300 drop_lowest, max_attempts 3, timeout ${SLUICE_TIMEOUT} s, low-priority head timeout 2 s.
$RATE req/s ($((RATE * 60)) RPM) with X-Priority 10 % urgent / 20 % high / 40 % normal / 30 % low, model
nvidia/llama-3.1-8b."
ORIGINAL_TARGETS="Targets per window after the first: goodput >= 95 % of the hidden limit, upstream 429 share <= 2 %,
urgent p99 <= 2 s, every request answered (answers past the deadline are reported, not judged)."
env_setup() {  # env_setup RATE_RPM: how Sluice runs in the environment-only scenarios
  echo "Sluice from the environment alone, no --config: every SIDECAR_* variable cleared, then SIDECAR_UPSTREAM (the
sim), SIDECAR_PORT, SIDECAR_METRICS_PORT and SIDECAR_RATE_RPM=$1, the one setting changed; so pool nvidia
(aliases nvidia, nvidia-gateway, nvidiavx) with one backend at $1 RPM and every other setting at its default
(the pool and queue as /status shows them are in status.jsonl). Every request X-Priority normal, model $ENV_MODEL."
}

run_scenario() {  # run_scenario NAME
  local name="$1" dir="$out/$1" duration limit rate="$RATE" drop=-1 sluice=yaml sluice_rpm="" latency_ms=0
  local setup targets deadline
  local sim_args=() extra=()
  mkdir -p "$dir"
  case "$name" in
    sluice|direct|drop)
      limit=$LIMIT
      sim_args=(--rpm "$LIMIT" --burst 10 --ttft-ms 0)
      setup="Sim: hidden limit $LIMIT RPM (token bucket, burst 10), 0 ms latency. $ORIGINAL_SETUP"
      targets="$ORIGINAL_TARGETS"
      case "$name" in
        sluice) duration=$DUR_SLUICE ;;
        direct) duration=$DUR_DIRECT; sluice=none
          setup="The same load as \`sluice\` straight at the sim (hidden limit $LIMIT RPM, token bucket, burst 10,
0 ms), no Sluice: the baseline; its verdicts show what the targets mean, not Sluice." ;;
        drop) duration=$DUR_DROP; drop=$DROP_AT
          setup="$setup The sim's limit is lowered to $DROP_RPM RPM at $DROP_AT s (POST /sim/config)."
          targets="$targets Windows ending by the drop are judged against $LIMIT, windows starting one window or more
after it against $DROP_RPM; the window right after the drop is a transition." ;;
      esac ;;
    defaults|defaults-sliding|defaults-slow|defaults-sliding-slow)
      duration=$DUR_DEFAULTS; limit=$LIMIT; sluice=env; sluice_rpm=$DEFAULTS_SLUICE_RPM
      case "$name" in
        *sliding*) sim_args=(--rpm "$LIMIT" --rate-algorithm sliding_window)
          setup="Sim: hidden limit $LIMIT RPM counted over a sliding 60 s window" ;;
        *) sim_args=(--rpm "$LIMIT" --burst 10)
          setup="Sim: hidden limit $LIMIT RPM (token bucket, burst 10)" ;;
      esac
      case "$name" in
        *slow) sim_args+=(--ttft-ms 1000 --ttft-jitter-ms 1000); latency_ms=2000
          setup="$setup, answers after 1,000 ms + a seeded uniform 0-1,000 ms." ;;
        *) sim_args+=(--ttft-ms 0)
          setup="$setup, 0 ms latency." ;;
      esac
      setup="$setup $(env_setup "$sluice_rpm") $RATE req/s ($((RATE * 60)) RPM) offered."
      extra=(--priorities normal --model "$ENV_MODEL" --target-429-pct -1 --target-urgent-p99-ms -1
        --target-past-deadline 0 --target-429-run 3)
      targets="Targets: goodput >= 95 % of the hidden limit in every window after the first, every request answered
and none past its deadline; upstream 429 share <= 3 % over the whole run from the cold start, the drain included
(the per-window share is reported, not judged)." ;;
    published-limit)
      duration=$DUR_PUBLISHED; limit=$PUBLISHED_RPM; sluice=env; sluice_rpm=$PUBLISHED_RPM; latency_ms=2000
      rate="$(awk -v rpm="$PUBLISHED_OFFERED_RPM" 'BEGIN { printf "%.6f", rpm / 60 }')"
      sim_args=(--rpm "$PUBLISHED_RPM" --rate-algorithm sliding_window --max-concurrent 4 --ttft-ms 2000)
      setup="Sim: a provider that counts requests over a trailing 60 s window, $PUBLISHED_RPM RPM, and allows 4 in
flight; every call takes 2,000 ms. $(env_setup "$sluice_rpm") Sluice is thus configured at exactly the published
limit (capacity at its default). Callers offer $PUBLISHED_OFFERED_RPM RPM ($rate req/s)."
      extra=(--priorities normal --model "$ENV_MODEL" --target-goodput-pct 90 --target-429-pct -1
        --target-urgent-p99-ms -1 --target-unanswered -1)
      targets="Target: goodput >= 90 % of what the provider accepts ($((PUBLISHED_RPM * 9 / 10)) of $PUBLISHED_RPM RPM)
in every window after the first; the 429 share, answers and deadlines are reported, not judged." ;;
  esac
  deadline=$((SLUICE_TIMEOUT + (latency_ms + 999) / 1000 + 1))
  {
    echo "$setup" | fmt -w 116
    echo
    echo "$targets Deadline: $deadline s after the intended send (Sluice's $SLUICE_TIMEOUT s timeout + the sim's
largest latency, $latency_ms ms, + 1 s)." | fmt -w 116
    echo
  } >"$dir/setup.md"

  start_sim "$dir" "${sim_args[@]}"
  local args=(--scenario "$name" --sim "http://127.0.0.1:$SIM_PORT" --rate "$rate" --duration "$duration"
    --window "$WINDOW" --seed "$SEED" --arrivals "$ARRIVALS" --limit "$limit" --drop-at "$drop" --drop-rpm "$DROP_RPM"
    --client-timeout "$CLIENT_TIMEOUT" --deadline-seconds "$deadline" --status-every "$STATUS_EVERY" --out "$dir"
    "${extra[@]}")
  case "$sluice" in
    none) args+=(--target "http://127.0.0.1:$SIM_PORT/v1/chat/completions") ;;
    yaml) start_sluice "$dir" ;;
    env) start_sluice_env "$dir" "$sluice_rpm" ;;
  esac
  if [ "$sluice" != none ]; then
    args+=(--target "http://127.0.0.1:$SLUICE_PORT/v1/chat/completions" --status "http://127.0.0.1:$SLUICE_PORT/status")
  fi
  log "scenario $name: $duration s at $rate req/s, hidden limit $limit RPM" \
    "$([ "$drop" -lt 0 ] || echo "-> $DROP_RPM RPM at $drop s")"
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
  run_scenario "$s"
done

# ---- summary ----
summary="$out/summary.md"
{
  echo "# Sluice traffic-shaping benchmark ($stamp${QUICK:+, QUICK=$QUICK})"
  echo
  cat <<EOF
Every scenario starts cold: a fresh sim and a fresh Sluice. Offered: open loop, $ARRIVALS arrivals, seed $SEED;
non-streaming chat completions of 8 completion tokens; client timeout ${CLIENT_TIMEOUT} s. Windows of $WINDOW s;
goodput = delta of the sim's accepted counter per window (as RPM, and as a share of the hidden limit); 429 % =
delta rejected_429 / (delta accepted + delta rejected_429), a share of upstream attempts; the whole-run line counts
the same from the first send until every answer was in (retries during the drain included). Latencies are from
the intended send instant to the whole answer, for 200s, by send window; an answer later than the scenario's
deadline after its intended send is past deadline; no answer = none within the client timeout. Non-200 answers:
Sluice's own refusals (429 rate_limited = waited past its deadline or low-priority head timeout; 503 evicted /
queue_full = a full queue) and the upstream's 429 rate_limit_exceeded passed on. Send lag = how late the driver
sent a request (a loaded machine; counted in latency).
Code: $code_rev. Machine: $(nproc) CPUs; $(uname -sr); $(uptime | sed 's/.*load average/load average/') at the end
(other work on the machine shows as send lag and late samples, noted per window).
EOF
  echo
  for s in $SCENARIOS; do
    if [ -f "$out/$s/section.md" ]; then
      head -n 2 "$out/$s/section.md"
      [ -f "$out/$s/setup.md" ] && cat "$out/$s/setup.md"
      tail -n +3 "$out/$s/section.md"
    fi
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
