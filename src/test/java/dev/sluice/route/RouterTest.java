package dev.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Pool;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouterTest {
  private final ManualClock clock = new ManualClock();
  private final Pool nvidia = new Pool("nvidia", List.of("nvidia", "nvidia-gateway", "nvidiavx"), false, 3,
      List.of(new Backend("nv-1", "nvidia", URI.create("http://h/v1"), Optional.empty(),
          new TokenBucket(BucketStore.inMemory(), "nv-1", 40, 40),
          new RetreatController(RetreatPolicy.defaults(), 40, 0, (c, s, f, t, r, a, fl) -> { }), clock)));
  private final Router router = new Router(List.of(nvidia));

  @Test
  void providerPrefixSelectsThePoolCaseInsensitively() {
    assertThat(router.route("nvidia/llama-3")).contains(nvidia);
    assertThat(router.route("NVIDIAVX/meta/llama")).contains(nvidia);
    assertThat(router.route("Nvidia-Gateway/x")).contains(nvidia);
  }

  @Test
  void unmatchedOrUnprefixedModelsArePassthrough() {
    assertThat(router.route("openai/gpt-4o")).isEmpty();
    assertThat(router.route("gpt-4o")).isEmpty();
    assertThat(router.route("/nvidia")).isEmpty();
    assertThat(router.route(null)).isEmpty();
  }

  @Test
  void stripPrefixRemovesOnlyTheProvider() {
    assertThat(Router.stripPrefix("nvidia/meta/llama")).isEqualTo("meta/llama");
    assertThat(Router.stripPrefix("plain")).isEqualTo("plain");
  }
}
