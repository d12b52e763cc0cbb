# Sluice container image. Build:  docker build -t sluice:local .
# Run and operate it as described in docs/deployment.md.

# ---------------------------------------------------------------- build stage
FROM eclipse-temurin:25-jdk AS build
WORKDIR /build

# Dependencies first, so that a source-only change reuses this layer. The Maven wrapper downloads Maven itself
# (with Java when neither curl nor wget is present, and as .tar.gz when unzip is missing).
COPY pom.xml mvnw ./
COPY .mvn/ .mvn/
RUN chmod +x mvnw && ./mvnw -B -q dependency:go-offline

COPY src/ src/
RUN ./mvnw -B -DskipTests package

# -------------------------------------------------------------- runtime stage
FROM eclipse-temurin:25-jre

LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="LLM traffic sidecar: OpenAI-compatible gateway in front of rate-limited LLM providers"

# The temurin JRE image ships neither curl nor wget (they are purged after the JDK download); the health check
# needs one of them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

# Dedicated non-root user with a fixed uid/gid, so that mounted files (a YAML config, key files) can be made
# readable to it, the same across rebuilds.
RUN groupadd --gid 10001 sluice \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sluice

# Sluice's state store (token usage, quota, cooldowns, dead keys, learned limits) is /app/data/sluice.db, owned by
# the service user: mount a volume there to keep it across containers. Logs go to stdout.
WORKDIR /app
RUN mkdir /app/data && chown 10001:10001 /app/data
VOLUME /app/data

# The jar stays root-owned: the service user can read it, not replace it.
COPY --from=build /build/target/sluice.jar /app/sluice.jar

# A container must listen beyond loopback to be reachable (the environment overrides server.host of a YAML file).
# Beyond loopback Sluice needs SIDECAR_ADMIN_TOKEN (set it at run time, e.g. in the env file): without it, it
# refuses to start. /status and /health have no authentication: publish the port on an internal address only.
ENV SIDECAR_HOST=0.0.0.0

# 9190: the proxy, /health, /health/ready, /status, the dashboard and the admin API. 9191: Prometheus /metrics.
EXPOSE 9190 9191

USER 10001:10001

# Follows SIDECAR_PORT when set at run time; a port set only in a YAML file is not seen here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${SIDECAR_PORT:-9190}/health" || exit 1

# Heap sized from the container memory limit; an OutOfMemoryError ends the process so the orchestrator restarts
# it instead of leaving a half-working JVM. Further flags: JAVA_TOOL_OPTIONS.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/sluice.jar"]
CMD ["serve"]
