#!/usr/bin/env bash
# Makes docs/dashboard.png: `./sluice demo` (three simulated keys behind one pool, each configured above its hidden
# limit, so adaptive retreat, concurrency limits and cooldowns have work to do), 90 s of chat completions of mixed
# priorities at 5 req/s, then a screenshot of the dashboard in headless Chromium (/usr/bin/chromium and
# /usr/bin/chromedriver).
#
#   bench/dashboard-screenshot.sh [OUT.png] [SECONDS] [REQUESTS_PER_SECOND]
#
# Knobs (environment): PORT (Sluice's port, 9190). Every process started here is stopped on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
PORT="${PORT:-9190}"
png="${1:-docs/dashboard.png}"; seconds="${2:-90}"; rate="${3:-5}"
out="$root/bench-results/dashboard-screenshot-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
BENCH_NAME=dashboard-screenshot
. "$here/common.sh"
require_free_ports "$PORT"

build_jar
compile_driver src/test/java/dev/sluice/observe/dashboard/DashboardScreenshot.java \
  src/test/java/dev/sluice/observe/dashboard/Chromium.java
SIDECAR_PORT="$PORT" "$JAVA" -jar "$jar" demo >"$out/demo.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$PORT/health" "sluice demo" "$!" "$out/demo.log"
log "load for ${seconds} s at ${rate} req/s, then the screenshot"
"$JAVA" -cp "$CP" dev.sluice.observe.dashboard.DashboardScreenshot "http://127.0.0.1:$PORT/" "$png" "$seconds" "$rate"
