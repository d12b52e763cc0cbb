# Plumbing shared by bench/run.sh, shaping.sh, failover.sh and tokens.sh; sourced, not run. The caller sets
# BENCH_NAME (the prefix of messages), root (the repository) and out (its results directory) first.

log() { echo "[$BENCH_NAME $(date +%H:%M:%S)] $*" >&2; }
die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# ---- cleanup: every process started here is recorded in pids and stopped on exit ----
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

wait_http() {  # wait_http URL NAME PID LOG: until URL answers; fails if PID exits or 30 s pass
  local i
  for i in $(seq 1 150); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited; see $4"
    sleep 0.2
  done
  die "$2 did not answer at $1 within 30 s"
}

require_free_ports() {  # require_free_ports PORT...
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port is already in use; stop whatever listens there first"
    fi
  done
}

# ---- Java: sets JAVA and JAVA_HOME_25 ----
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' \
    | head -n 1
}
find_java() {
  local c major
  for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java \
      $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV | sed 's#/$#/bin/java#') "$(command -v java || true)"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    major="$(java_major "$c")"
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$c"; return 0; fi
  done
  return 1
}
JAVA="$(find_java)" || die "needs a JDK 25 or newer (JAVA_HOME or /usr/lib/jvm)"
JAVA_HOME_25="$(cd "$(dirname "$JAVA")/.." && pwd)"

# ---- build: the jar and the load driver are copied or compiled into $out, so that a rebuild or `mvn clean`
# elsewhere cannot change them mid-run. When src/main is newer than target/sluice.jar the jar is built from a
# private copy of pom.xml and src/main, so that this build neither races a `mvn verify` running in the same tree
# nor depends on test sources compiling. ----
build_jar() {  # sets jar
  cd "$root"
  jar="$out/sluice.jar"
  if [ ! -f target/sluice.jar ] || [ -n "$(find src/main pom.xml -newer target/sluice.jar -print -quit)" ]; then
    log "building sluice.jar from a private copy of src/main"
    local build="$out/build"
    mkdir -p "$build/src"
    cp -r pom.xml mvnw .mvn "$build/"
    cp -r src/main "$build/src/"
    if (cd "$build" && JAVA_HOME="$JAVA_HOME_25" ./mvnw -q -B -Dmaven.test.skip=true package) >"$out/build.log" 2>&1 \
        && [ -f "$build/target/sluice.jar" ]; then
      cp "$build/target/sluice.jar" "$jar"
    else
      [ -f target/sluice.jar ] || { cat "$out/build.log" >&2; die "the build failed"; }
      log "warning: the build failed (see $out/build.log); benchmarking the existing target/sluice.jar"
      cp target/sluice.jar "$jar"
    fi
    rm -rf "$build"
  else
    cp target/sluice.jar "$jar"
  fi
}

# What every driver of the shaping, failover and token benchmarks uses: the control client, the samplers and their
# files, the open loop.
DRIVER_SHARED=(src/test/java/dev/sluice/bench/Control.java src/test/java/dev/sluice/bench/Sample.java
  src/test/java/dev/sluice/bench/Sampler.java src/test/java/dev/sluice/bench/OpenSender.java
  src/test/java/dev/sluice/bench/Percentile.java)

compile_driver() {  # compile_driver SOURCE...: sets CP to the compiled driver plus the test classpath (and $jar if set)
  cd "$root"
  local cpfile="$out/classpath.txt" classes="$out/driver-classes"
  if [ -s target/bench-classpath.txt ] && [ target/bench-classpath.txt -nt pom.xml ]; then
    cp target/bench-classpath.txt "$cpfile"
  else
    log "resolving the test classpath"
    JAVA_HOME="$JAVA_HOME_25" ./mvnw -q -B dependency:build-classpath -Dmdep.outputFile="$cpfile" \
      -Dmdep.includeScope=test >&2
  fi
  local deps
  deps="${jar:+$jar:}$(cat "$cpfile")"
  mkdir -p "$classes"
  "$JAVA_HOME_25/bin/javac" -nowarn -d "$classes" -cp "$deps" "$@"
  CP="$classes:$deps"
}
