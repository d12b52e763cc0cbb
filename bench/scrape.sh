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
cd "$root"
cpfile="$out/classpath.txt"
if [ -s target/bench-classpath.txt ] && [ target/bench-classpath.txt -nt pom.xml ]; then
  cp target/bench-classpath.txt "$cpfile"
else
  log "resolving the test classpath"
  JAVA_HOME="$JAVA_HOME_25" ./mvnw -q -B dependency:build-classpath -Dmdep.outputFile="$cpfile" \
    -Dmdep.includeScope=test >&2
fi
mkdir -p "$out/classes"
"$JAVA_HOME_25/bin/javac" -nowarn -d "$out/classes" -cp "$jar:$(cat "$cpfile")" \
  src/test/java/dev/sluice/observe/MetricsScrape.java
timeout --kill-after=10 600 "$JAVA" -Xms256m -Xmx256m -cp "$out/classes:$jar:$(cat "$cpfile")" \
  dev.sluice.observe.MetricsScrape | tee "$out/summary.txt"
log "results in $out/summary.txt"
