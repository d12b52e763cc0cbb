package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.config.Secret;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.schedule.Scheduler;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The probe that brings dead backends back, against real upstreams: a 2xx to its key revives, a 401 does not. */
class DeadKeyProbeTest {
  private final HttpClient client = new HttpClient();
  private final Scheduler never = (task, delayNanos) -> () -> { };

  @BeforeEach
  void start() throws Exception {
    client.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.stop();
  }

  private static Backend backend(String id, String baseUrl) {
    Clock clock = Clock.system();
    return new Backend(id, "pool", URI.create(baseUrl), Optional.of(Secret.of("sk-" + id + "-secret")),
        new TokenBucket(BucketStore.inMemory(), id, 60, 10),
        new RetreatController(RetreatPolicy.defaults(), 60, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        new ConcurrencyLimit(false, 8), Optional.empty(), Backend.TokenLimits.none(), clock);
  }

  private static void kill(Backend backend) {
    Permit permit = ((Backend.Granted) backend.tryAcquire(Clock.system().nanoTime())).permit();
    permit.release(new Attempt(401, 0));
    assertThat(backend.snapshot().state()).isEqualTo("dead");
  }

  @Test
  void aDeadBackendWhoseKeyIsAcceptedAgainComesBackAndOneStillRefusedStaysDead() throws Exception {
    SimServer sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
    byte[] body = "{\"error\":{\"message\":\"Incorrect API key provided.\"}}".getBytes(StandardCharsets.UTF_8);
    try (sim; CannedUpstream refusing = new CannedUpstream(CannedUpstream.response("401 Unauthorized",
        "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n", body))) {
      Backend accepted = backend("accepted", sim.baseUrl());
      Backend refused = backend("refused", refusing.baseUrl());
      Backend disabled = backend("disabled", sim.baseUrl());
      kill(accepted);
      kill(refused);
      disabled.disable();
      DeadKeyProbe probe = new DeadKeyProbe(client, List.of(accepted, refused, disabled), never,
          Duration.ofSeconds(60));

      probe.probeDead().get(10, TimeUnit.SECONDS);

      assertThat(accepted.snapshot().state()).isEqualTo("active");
      assertThat(refused.snapshot().state()).isEqualTo("dead");
      assertThat(refusing.requests()).isEqualTo(1);
      // An operator's decision is not the probe's to undo.
      assertThat(disabled.snapshot().state()).isEqualTo("disabled");
      assertThat(sim.recentRequests()).singleElement().satisfies(request -> {
        assertThat(request.path()).isEqualTo("/v1/models");
        assertThat(request.header("authorization")).isEqualTo("Bearer sk-accepted-secret");
      });
    }
  }
}
