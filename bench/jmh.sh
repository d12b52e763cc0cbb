#!/usr/bin/env bash
# JMH microbenchmarks of Sluice's own per-request code (src/test/java/dev/sluice/proxy/HotPathBenchmark.java, and
# src/test/java/dev/sluice/observe/OutcomeListenersBenchmark.java: what a finished request costs metrics and dashboard).
#
#   bench/jmh.sh                      every benchmark, 1 fork, 3 x 2 s warm-up, 5 x 2 s measured (about 1 minute)
#   bench/jmh.sh Sniff -prof gc       JMH arguments pass through: a name filter, -prof gc for allocation per op, ...
#
# Results: bench-results/jmh-<timestamp>/ (jmh.txt, jmh.json).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$root/bench-results/jmh-$stamp"
mkdir -p "$out"
BENCH_NAME=jmh
. "$here/common.sh"

cd "$root"
log "compiling the benchmarks and resolving the test classpath"
./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile="$out/classpath.txt" \
  -Dmdep.includeScope=test >&2
"$JAVA" -cp "target/test-classes:target/classes:$(cat "$out/classpath.txt")" org.openjdk.jmh.Main \
  -rf json -rff "$out/jmh.json" "$@" | tee "$out/jmh.txt"
log "results in $out"
