#!/usr/bin/env bash
# Sluice token-budget benchmark: one simulated key with token limits behind one Sluice backend, each run from a cold
# start (a fresh sim, a fresh Sluice with a fresh state store).
#
#   bench/tokens.sh             all three runs (about 27 minutes):
#     A  (180 s): pacing. The sim hides 40,000 TPM and 60 RPM (sliding 60 s window, completions of exactly
#        max_tokens, x-ratelimit-* headers on); Sluice from bench/tokens.yaml is told rate_rpm 60 and tpm 40000
#        (the operator knows the key's tier). Callers offer 1.3 x 40,000 TPM of prompts of 100..4,000 tokens and
#        max_tokens 50..500 (seeded, uniform). Judged: goodput >= 90 % of 40,000 TPM in every minute after the
#        first, upstream 429 share <= 2 % over the whole run.
#     A2 (180 s): the same with no tpm in Sluice (bench/tokens-headers.yaml): the provider's headers alone pace
#        tokens. Reported beside A, not judged.
#     B  (900 s): the guard. The sim has a token budget of 500,000 per 600 s window (a 5-hour plan scaled down to
#        10 minutes), no per-minute limits; Sluice from bench/tokens-guard.yaml has the same budget with
#        window_minutes 10, threshold 99 %, one probe every 30 s. Callers offer 140,000 TPM, which spends the
#        budget in under 4 minutes. Judged: the guard trips at the threshold, probes once per probe interval,
#        recovers when the window slides, and sends no request beyond the probe rule.
#   SCENARIOS="A A2" bench/tokens.sh    some of them
#   QUICK=1 bench/tokens.sh     a smoke run (about 7 minutes): A and A2 60 s in 20 s windows; B 240 s with a
#                               450,000-token budget over 120 s (window_minutes 2) and a probe every 10 s
#
# Results: bench-results/tokens-<timestamp>/summary.md, and per run (A/, A2/, B/) requests.csv (one line per
# request: send instant, prompt tokens, max_tokens, status, error code, latency, X-Sluice-Queue-Ms, usage),
# samples.jsonl (the sim's /sim/stats and Sluice's /status, in B its GET /api/admin/quota/key-1, read together
# every 5 s, in B every 0.5 s; the last line once every answer was in), report.json, section.md, run.json, the
# filled-in config, sim-config.json, status-end.json, backend-events.log (Sluice's lines about its backend) and both
# processes' logs. Sluice keeps its state in a new file per run, <run>/sluice.db (SIDECAR_DB_PATH), never in
# ./data/sluice.db. Every load run is bounded in count and time; every process started here is stopped on exit.
#
# Knobs (environment): SEED (42), SCENARIOS (A A2 B), SIM_PORT (9350), SLUICE_PORT (9360), SLUICE_METRICS_PORT
# (9361).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

# ---- settings ----
SIM_PORT="${SIM_PORT:-9350}"; SLUICE_PORT="${SLUICE_PORT:-9360}"; SLUICE_METRICS_PORT="${SLUICE_METRICS_PORT:-9361}"
SEED="${SEED:-42}"
ALL_SCENARIOS="A A2 B"
SCENARIOS="${SCENARIOS:-$ALL_SCENARIOS}"
MODEL=meta/llama-3.3-70b-instruct
PROMPT_MIN=100; PROMPT_MAX=4000; MAX_TOKENS_MIN=50; MAX_TOKENS_MAX=500
# Calls take 200 ms to their first token; a non-streamed answer then comes whole.
TTFT_MS=200
CLIENT_TIMEOUT=120
# A and A2: the key's hidden limits, and what the callers offer.
HIDDEN_TPM=40000; HIDDEN_RPM=60; OFFERED_FACTOR=1.3
OFFERED_TPM="$(awk -v t="$HIDDEN_TPM" -v f="$OFFERED_FACTOR" 'BEGIN { printf "%d", t * f }')"
PACING_SAMPLE=5
# B: the guard.
GUARD_THRESHOLD=99; GUARD_SAMPLE=0.5
if [ "${QUICK:-0}" = 1 ]; then
  PACING_DURATION=60; WINDOW=20
  GUARD_DURATION=240; GUARD_BUDGET=450000; GUARD_WINDOW_SECONDS=120; GUARD_PROBE=10; GUARD_OFFERED_TPM=300000
else
  PACING_DURATION=180; WINDOW=60
  GUARD_DURATION=900; GUARD_BUDGET=500000; GUARD_WINDOW_SECONDS=600; GUARD_PROBE=30; GUARD_OFFERED_TPM=140000
fi
GUARD_WINDOW_MINUTES=$((GUARD_WINDOW_SECONDS / 60))
for s in $SCENARIOS; do
  case " $ALL_SCENARIOS " in
    *" $s "*) ;;
    *) echo "tokens: unknown run $s (known: $ALL_SCENARIOS)" >&2; exit 2 ;;
  esac
done

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/tokens-$stamp"
mkdir -p "$out"
BENCH_NAME=tokens
. "$here/common.sh"
require_free_ports "$SIM_PORT" "$SLUICE_PORT" "$SLUICE_METRICS_PORT"

build_jar
compile_driver src/test/java/dev/sluice/bench/TokenLoad.java src/test/java/dev/sluice/bench/TokenMix.java \
  src/test/java/dev/sluice/bench/TokenCall.java src/test/java/dev/sluice/bench/TokenReport.java \
  src/test/java/dev/sluice/bench/GuardReport.java src/test/java/dev/sluice/bench/SimCounts.java \
  src/test/java/dev/sluice/bench/Schedule.java src/test/java/dev/sluice/bench/Ranges.java "${DRIVER_SHARED[@]}"
code_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain -- src/main pom.xml 2>/dev/null)" ] \
  && code_rev="$code_rev + uncommitted changes in src/main"
# The launcher runs target/sluice.jar beside itself: lay out a copy of it next to the jar measured.
mkdir -p "$out/launcher/target"
cp "$root/sluice" "$out/launcher/sluice"
cp "$jar" "$out/launcher/target/sluice.jar"
launcher="$out/launcher/sluice"

# ---- processes ----
sim_pid=""
start_sim() {  # start_sim DIR SIM-OPTION...: a fresh sim (zeroed counters, empty windows)
  local dir="$1"; shift
  local cmd=("$launcher" sim --port "$SIM_PORT" --seed "$SEED" --ttft-ms "$TTFT_MS" --completion-mode max_tokens "$@")
  echo "${cmd[*]#"$out/"}" >"$dir/sim.cmd"
  JAVA_HOME="$JAVA_HOME_25" "${cmd[@]}" >"$dir/sim.log" 2>&1 &
  sim_pid=$!; pids+=("$sim_pid")
  wait_http "http://127.0.0.1:$SIM_PORT/sim/stats" sim "$sim_pid" "$dir/sim.log"
  curl -sf --max-time 5 "http://127.0.0.1:$SIM_PORT/sim/config" >"$dir/sim-config.json"
  log "sim pid $sim_pid on :$SIM_PORT ($*)"
}

sluice_pid=""
start_sluice() {  # start_sluice DIR CONFIG: Sluice through the launcher, SIDECAR_* cleared but a fresh SIDECAR_DB_PATH
  local dir="$1" config="$2" i
  sed -e "s/@SLUICE_PORT@/$SLUICE_PORT/" -e "s/@METRICS_PORT@/$SLUICE_METRICS_PORT/" -e "s/@SIM_PORT@/$SIM_PORT/" \
    -e "s/@BUDGET@/$GUARD_BUDGET/" -e "s/@WINDOW_MINUTES@/$GUARD_WINDOW_MINUTES/" \
    -e "s/@THRESHOLD@/$GUARD_THRESHOLD/" -e "s/@PROBE@/$GUARD_PROBE/" "$here/$config" >"$dir/$config"
  # The key is the backend's own, as a plan's key is: the provider's quota error is then the key's, not a caller's.
  env $(env | sed -n 's/^\(SIDECAR_[A-Z_]*\)=.*/-u \1/p') SIDECAR_DB_PATH="$dir/sluice.db" BENCH_KEY=sk-bench-key \
    JAVA_HOME="$JAVA_HOME_25" "$launcher" serve --config "$dir/$config" >"$dir/sluice.log" 2>&1 &
  sluice_pid=$!; pids+=("$sluice_pid")
  for i in $(seq 1 150); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$SLUICE_PORT/health" && break
    if ! kill -0 "$sluice_pid" 2>/dev/null; then
      wait "$sluice_pid" 2>/dev/null || true
      log "sluice exited at start-up: $(grep -v '^WARNING' "$dir/sluice.log" | tail -n 3 | tr '\n' ' ')"
      sluice_pid=""
      return 1
    fi
    sleep 0.2
  done
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$SLUICE_PORT/health" || die "sluice did not answer in 30 s"
  tr '\0' ' ' <"/proc/$sluice_pid/cmdline" | sed "s#$out/##g" >"$dir/sluice.cmd"
  log "sluice pid $sluice_pid on :$SLUICE_PORT ($config, state store $dir/sluice.db)"
}

stop_all() {
  [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"; sluice_pid=""
  [ -n "$sim_pid" ] && stop_pid "$sim_pid"; sim_pid=""
}

# ---- runs ----
declare -A verdict
run_driver() {  # run_driver DIR DURATION DRIVER-ARGS...: the load, bounded; the report again once Sluice's log is whole
  local dir="$1" duration="$2"; shift 2
  local args=(--target "http://127.0.0.1:$SLUICE_PORT/v1/chat/completions" --sim "http://127.0.0.1:$SIM_PORT"
    --status "http://127.0.0.1:$SLUICE_PORT/status" --duration "$duration" --seed "$SEED" --model "$MODEL"
    --prompt-min "$PROMPT_MIN" --prompt-max "$PROMPT_MAX" --max-tokens-min "$MAX_TOKENS_MIN"
    --max-tokens-max "$MAX_TOKENS_MAX" --client-timeout "$CLIENT_TIMEOUT" --out "$dir" "$@")
  local ok=1
  if ! timeout --kill-after=10 $((duration + CLIENT_TIMEOUT + 90)) \
      "$JAVA" -Xms128m -Xmx256m -XX:+UseSerialGC -cp "$CP" dev.sluice.bench.TokenLoad "${args[@]}" \
      >"$dir/driver.out" 2>"$dir/driver.log"; then
    ok=0
    log "the driver failed or timed out; see $dir/driver.log"
  fi
  curl -s --max-time 5 "http://127.0.0.1:$SLUICE_PORT/status" >"$dir/status-end.json" || true
  stop_all
  grep -E '"logger":"sluice\.(backend|retreat)"' "$dir/sluice.log" >"$dir/backend-events.log" || true
  if [ "$ok" = 1 ] && ! "$JAVA" -cp "$CP" dev.sluice.bench.TokenLoad "${args[@]}" --report-only \
      --sluice-log "$dir/sluice.log" >"$dir/driver.out" 2>>"$dir/driver.log"; then
    ok=0
    log "the report from Sluice's log failed; see $dir/driver.log"
  fi
  [ "$ok" = 1 ]
}

pacing_run() {  # pacing_run NAME CONFIG TITLE DRIVER-ARGS...
  local name="$1" config="$2" title="$3"; shift 3
  local dir="$out/$name"
  mkdir -p "$dir"
  start_sim "$dir" --rpm "$HIDDEN_RPM" --tpm "$HIDDEN_TPM"
  if ! start_sluice "$dir" "$config"; then
    stop_all; verdict[$name]="Sluice did not start: see $name/sluice.log"; return 1
  fi
  log "run $name: $PACING_DURATION s, $OFFERED_TPM TPM offered against a hidden $HIDDEN_TPM TPM / $HIDDEN_RPM RPM"
  if run_driver "$dir" "$PACING_DURATION" --mode pacing --scenario "$title" --offered-tpm "$OFFERED_TPM" \
      --hidden-tpm "$HIDDEN_TPM" --window "$WINDOW" --sample-every "$PACING_SAMPLE" "$@"; then
    verdict[$name]="$(sed -n 's/.*Judged: \(.*\)\.$/\1/p' "$dir/section.md" | tail -n 1)"
    if [ "$name" = A2 ]; then verdict[$name]="reported beside A, not judged"; fi
  else
    verdict[$name]="the driver failed: see $name/driver.log"; return 1
  fi
}

guard_run() {
  local dir="$out/B"
  mkdir -p "$dir"
  start_sim "$dir" --token-budget "$GUARD_BUDGET" --budget-window-seconds "$GUARD_WINDOW_SECONDS"
  if ! start_sluice "$dir" tokens-guard.yaml; then
    stop_all
    if grep -q 'window_minutes' "$dir/sluice.log"; then
      verdict[B]="not run: this Sluice has no quota.window_minutes, so its quota window cannot be"
      verdict[B]+=" $GUARD_WINDOW_MINUTES minutes; see B/sluice.log"
    else
      verdict[B]="Sluice did not start: see B/sluice.log"
    fi
    return 1
  fi
  log "run B: $GUARD_DURATION s, $GUARD_OFFERED_TPM TPM offered against a budget of $GUARD_BUDGET per" \
    "$GUARD_WINDOW_SECONDS s, probe every $GUARD_PROBE s"
  if run_driver "$dir" "$GUARD_DURATION" --mode guard --scenario "Run B: the quota guard" \
      --offered-tpm "$GUARD_OFFERED_TPM" --sample-every "$GUARD_SAMPLE" \
      --quota "http://127.0.0.1:$SLUICE_PORT/api/admin/quota/key-1" --budget "$GUARD_BUDGET" \
      --budget-window "$GUARD_WINDOW_SECONDS" --threshold-pct "$GUARD_THRESHOLD" --probe-interval "$GUARD_PROBE"; then
    verdict[B]="$(sed -n 's/^Judged: \(.*\)\.$/\1/p' "$dir/section.md" | tail -n 1)"
  else
    verdict[B]="the driver failed: see B/driver.log"; return 1
  fi
}

failed=0
for s in $SCENARIOS; do
  case "$s" in
    A) pacing_run A tokens.yaml "Run A: pacing by tpm and the provider's headers" || failed=1 ;;
    A2) pacing_run A2 tokens-headers.yaml "Run A2: no tpm configured, the provider's headers alone (not judged)" \
          --target-goodput-pct -1 --target-429-pct -1 || failed=1 ;;
    B) guard_run || failed=1 ;;
  esac
done

# ---- summary ----
summary="$out/summary.md"
{
  echo "# Sluice token-budget benchmark ($stamp${QUICK:+, QUICK=$QUICK})"
  echo
  cat <<EOF | fmt -w 116
One simulated key (\`sluice sim\`, port $SIM_PORT; calls of $TTFT_MS ms to the first token, completions of exactly
max_tokens, prompts counted as characters / 4, x-ratelimit-* headers on) behind one Sluice backend, started through
the launcher (\`sluice serve --config\`), each run from a cold start, Sluice's state store a new file per run
(SIDECAR_DB_PATH=<run>/sluice.db). Callers: evenly spaced non-streaming chat completions, model $MODEL, prompts of
$PROMPT_MIN..$PROMPT_MAX tokens and max_tokens $MAX_TOKENS_MIN..$MAX_TOKENS_MAX, uniform, seed $SEED, client timeout
$CLIENT_TIMEOUT s. A and A2: the sim hides $HIDDEN_TPM TPM and $HIDDEN_RPM RPM; $OFFERED_TPM TPM offered
($OFFERED_FACTOR x) for $PACING_DURATION s; goodput = the tokens the sim accepted per window of $WINDOW s (its
accepted_tokens between readings at the boundaries), beside the callers' usage; upstream 429 share = the sim's 429s
over its attempts, from the first send to the last answer. B: the sim's budget $GUARD_BUDGET tokens per
$GUARD_WINDOW_SECONDS s, Sluice's quota the same (window_minutes $GUARD_WINDOW_MINUTES, threshold
$GUARD_THRESHOLD %, probe every $GUARD_PROBE s); $GUARD_OFFERED_TPM TPM offered for $GUARD_DURATION s.
EOF
  echo
  echo "Code: $code_rev. Machine: $(nproc) CPUs; $(uname -sr);" \
    "$(uptime | sed 's/.*load average/load average/') at the end."
  echo
  for s in $SCENARIOS; do
    echo "- Run $s: ${verdict[$s]:-not run}"
  done
  echo
  for s in $SCENARIOS; do
    if [ -f "$out/$s/section.md" ]; then
      cat "$out/$s/section.md"
      echo "Sim: \`$(cat "$out/$s/sim.cmd" 2>/dev/null)\`. Sluice: \`$(cat "$out/$s/sluice.cmd" 2>/dev/null)\`."
      echo
    else
      echo "### Run $s"
      echo
      echo "${verdict[$s]:-not run}."
      echo
    fi
  done
} >"$summary"
log "summary: $summary"
cat "$summary"
[ "$failed" = 0 ]
