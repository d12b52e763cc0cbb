package dev.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Pool;
import dev.sluice.backend.TestBackends;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouterTest {
  private final ManualClock clock = new ManualClock();
  private final Pool nvidia = pool("nvidia", List.of("nvidia", "nvidia-gateway", "nvidiavx"), List.of());
  private final Router router = new Router(List.of(nvidia), Optional.empty());

  private Pool pool(String name, List<String> aliases, List<String> models) {
    return new Pool(name, aliases, models, false, 3, 0,
        List.of(TestBackends.of(name + "-1", name, new TokenBucket(BucketStore.inMemory(), name + "-1", 40, 40),
            new RetreatController(RetreatPolicy.defaults(), 40, 0, (c, s, f, t, r, a, fl) -> { }), clock)));
  }

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

  /**
   * Pools declared in this order: {@code exact} (gpt-4o, meta/llama-3), {@code long} (gpt-4o-*, meta/llama-*),
   * {@code short} (gpt-*, meta/*, equal-?), {@code tieA} (x-*), {@code tieB} (y-* and a glob as long as tieA's
   * that also matches x- models), {@code prefixed} (aliases meta and openai), and {@code fallback} as the default
   * pool. Each row: the model as sent and the pool it must reach ({@code -} for passthrough).
   */
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', textBlock = """
      gpt-4o                  | exact
      gpt-4o-mini             | long
      gpt-4                   | short
      gpt-                    | short
      GPT-4o                  | fallback
      meta/llama-3            | exact
      meta/llama-3.1-70b      | long
      meta/codellama          | short
      META/codellama          | prefixed
      openai/gpt-4o           | prefixed
      equal-1                 | short
      equal-12                | fallback
      x-1                     | tieA
      y-1                     | tieB
      x-long-name             | tieA
      mistral-large           | fallback
      ' '                     | fallback
      """)
  void precedenceIsExactThenLongestGlobThenAliasThenDefaultPool(String model, String expected) {
    Pool exact = pool("exact", List.of(), List.of("gpt-4o", "meta/llama-3"));
    Pool longer = pool("long", List.of(), List.of("gpt-4o-*", "meta/llama-*"));
    Pool shorter = pool("short", List.of(), List.of("gpt-*", "meta/*", "equal-?"));
    Pool tieA = pool("tieA", List.of(), List.of("x-*"));
    Pool tieB = pool("tieB", List.of(), List.of("y-*", "?-*"));
    Pool prefixed = pool("prefixed", List.of("meta", "openai"), List.of());
    Pool fallback = pool("fallback", List.of("fallback"), List.of());
    List<Pool> pools = List.of(exact, longer, shorter, tieA, tieB, prefixed, fallback);
    Router precedence = new Router(pools, Optional.of("fallback"));

    assertThat(precedence.route(model).map(Pool::name)).contains(expected);
  }

  @Test
  void equallyLongMatchingGlobsOfTwoPoolsGoToThePoolDeclaredFirst() {
    Pool first = pool("first", List.of(), List.of("m*-b"));
    Pool second = pool("second", List.of(), List.of("ma-*"));

    assertThat(new Router(List.of(first, second), Optional.empty()).route("ma-b")).contains(first);
    assertThat(new Router(List.of(second, first), Optional.empty()).route("ma-b")).contains(second);
  }

  @Test
  void withoutADefaultPoolAnUnclaimedModelIsPassthroughAndWithOneItIsNot() {
    Pool claims = pool("claims", List.of(), List.of("gpt-*"));

    assertThat(new Router(List.of(claims, nvidia), Optional.empty()).route("claude-3")).isEmpty();
    assertThat(new Router(List.of(claims, nvidia), Optional.of("nvidia")).route("claude-3")).contains(nvidia);
  }

  @Test
  void aRequestWithoutAModelStaysPassthroughEvenWithADefaultPool() {
    Router withDefault = new Router(List.of(nvidia), Optional.of("nvidia"));

    assertThat(withDefault.route(null)).isEmpty();
    assertThat(withDefault.route("")).isEmpty();
  }

  @Test
  void aDefaultPoolThatIsNotAmongThePoolsIsAProgrammingError() {
    assertThatThrownBy(() -> new Router(List.of(nvidia), Optional.of("openai")))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("default pool openai is not among the pools");
  }

  /** The pattern, a model, and whether the whole model matches. */
  @ParameterizedTest(name = "{0} ~ {1}: {2}")
  @CsvSource(delimiter = '|', textBlock = """
      *             | anything/at-all  | true
      *             | ''               | true
      meta/*        | meta/            | true
      meta/*        | meta             | false
      meta/*        | xmeta/llama      | false
      meta/*        | Meta/llama       | false
      gpt-4o-*      | gpt-4o           | false
      gpt-?         | gpt-4            | true
      gpt-?         | gpt-              | false
      gpt-?         | gpt-4o           | false
      a*b*c         | abc              | true
      a*b*c         | aXXbYYbZc        | true
      a*b*c         | aXXbYYcZ         | false
      *-instruct    | meta/llama-3-instruct | true
      *a*a*a*a*b    | aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | false
      caf?          | café             | true
      ?             | 😀               | true
      """)
  void globsMatchTheWholeModelCaseSensitively(String pattern, String model, boolean matches) {
    Glob glob = new Glob(pattern);
    assertThat(glob.mayMatch(model) && glob.matches(model.codePoints().toArray())).isEqualTo(matches);
    assertThat(glob.matches(model.codePoints().toArray())).isEqualTo(matches);
  }
}
