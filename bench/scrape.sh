#!/usr/bin/env bash
# /metrics scrape time and size with many backends (dev.sluice.observe.MetricsScrape): Sluice in-process with
# POOLS x BACKENDS backends (default 5 x 10) against the simulated provider, SCRAPES scrapes per format (default
# 2000) after as many discarded. Bounded: the program ends by itself, within a 10-minute limit. See BENCHMARKS.md.
#
#   bench/scrape.sh            POOLS=5 BACKENDS=10 SCRAPES=2000 by default
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/scrape-$stamp"
mkdir -p "$out"
BENCH_NAME=scrape
. "$here/common.sh"
build_jar
compile_driver src/test/java/dev/sluice/observe/MetricsScrape.java
timeout --kill-after=10 600 "$JAVA" -Xms256m -Xmx256m -cp "$CP" dev.sluice.observe.MetricsScrape | tee "$out/summary.txt"
log "results in $out/summary.txt"
