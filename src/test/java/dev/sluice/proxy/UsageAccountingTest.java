package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.sluice.backend.Attempt;
import dev.sluice.backend.RateHeaders;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What each upstream attempt used and said, end to end over real sockets with an upstream whose every byte the test
 * writes: usage asked for on the caller's behalf and removed from the stream, usage reported or estimated (and
 * marked so in the request log), the provider's quota errors, and its rate-limit headers, as the attempts that
 * release the backends' permits carry them.
 */
class UsageAccountingTest {
  private static final String CHAT_STREAM =
      "{\"model\":\"pool/m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String HEAD =
      "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",";
  private static final String ROLE_EVENT = "data: " + HEAD
      + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],"
      + "\"usage\":null}\n\n";
  private static final String HELLO_EVENT = "data: " + HEAD
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}],\"usage\":null}\n\n";
  private static final String WORLD_EVENT = "data: " + HEAD
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" wörld\"},\"finish_reason\":null}],\"usage\":null}\n\n";
  private static final String STOP_EVENT = "data: " + HEAD
      + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n";
  private static final String USAGE_EVENT = "data: " + HEAD
      + "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n";
  private static final String DONE_EVENT = "data: [DONE]\n\n";
  private static final String STREAM_WITH_USAGE =
      ROLE_EVENT + HELLO_EVENT + WORLD_EVENT + STOP_EVENT + USAGE_EVENT + DONE_EVENT;
  private static final String STREAM_WITHOUT_USAGE = ROLE_EVENT + HELLO_EVENT + WORLD_EVENT + STOP_EVENT + DONE_EVENT;
  /** The text of the stream: "Hello" and " wörld", 12 bytes in two pieces: 3 tokens at 4 bytes a token. */
  private static final long STREAM_TEXT_TOKENS = 3;
  private static final String EVENT_STREAM = "text/event-stream";

  private final Harness harness = new Harness();
  private final RequestLogCapture requestLog = new RequestLogCapture();
  private final AttemptLog attempts = new AttemptLog();
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    attempts.close();
    requestLog.close();
    harness.close();
  }

  /** The pool setting that forwards {@code pool/m} as {@code m}. */
  private static final String STRIP = "strip_prefix: true";

  /** A pool {@code pool} (models {@code pool/...}) with these settings over the given upstreams, in order. */
  private Sluice sluice(String poolSettings, String... baseUrls) throws Exception {
    StringBuilder backends = new StringBuilder();
    for (int i = 0; i < baseUrls.length; i++) {
      backends.append("      - {id: b").append(i + 1).append(", base_url: \"").append(baseUrls[i])
          .append("\", rate_rpm: 6000, capacity: 100}\n");
    }
    return harness.sluiceFromYaml("""
        defaults: {timeout_seconds: 20}
        pools:
          - name: pool
            aliases: [pool]
            default_max_tokens: 300
        %s
            backends:
        %s""".formatted(poolSettings.indent(4), backends), Map.of(), dir);
  }

  private static RecordingUpstream.Answer sse(List<byte[]> pieces) {
    return new RecordingUpstream.Answer("200 OK", "Content-Type: text/event-stream\r\n", pieces, true);
  }

  private static List<byte[]> whole(String text) {
    return List.of(text.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code text} cut at each of {@code cuts} (byte offsets). */
  private static List<byte[]> cut(String text, TreeSet<Integer> cuts) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    List<byte[]> pieces = new ArrayList<>();
    int from = 0;
    for (int at : cuts) {
      pieces.add(Arrays.copyOfRange(bytes, from, at));
      from = at;
    }
    pieces.add(Arrays.copyOfRange(bytes, from, bytes.length));
    return pieces;
  }

  private ILoggingEvent requestLine() {
    await().atMost(Duration.ofSeconds(10)).until(() -> requestLog.lines().size() == 1);
    return requestLog.lines().getFirst();
  }

  private AttemptLog.Released onlyAttempt() {
    await().atMost(Duration.ofSeconds(10)).until(() -> !attempts.released().isEmpty());
    assertThat(attempts.released()).hasSize(1);
    return attempts.released().getFirst();
  }

  static Stream<Long> seeds() {
    return IntStream.range(0, 40).mapToObj(i -> 31L * i + 7);
  }

  /**
   * The stream cut into pieces at random offsets, one of them inside the usage event (a different one for each
   * seed), so that the event arrives split across chunks, at its start, in its JSON or between its two newlines.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void usageIsAskedForAndItsEventRemovedFromAStreamCutAnywhere(long seed) throws Exception {
    Random random = new Random(seed);
    int length = STREAM_WITH_USAGE.getBytes(StandardCharsets.UTF_8).length;
    int usageStart = STREAM_WITH_USAGE.getBytes(StandardCharsets.UTF_8).length
        - (USAGE_EVENT + DONE_EVENT).length();
    TreeSet<Integer> cuts = new TreeSet<>();
    cuts.add(usageStart + 1 + (int) (seed % USAGE_EVENT.length()));
    for (int i = random.nextInt(6); i > 0; i--) {
      cuts.add(1 + random.nextInt(length - 1));
    }
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then(sse(cut(STREAM_WITH_USAGE, cuts)));
      Sluice sluice = sluice(STRIP, upstream.baseUrl());

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), CHAT_STREAM);

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).as("cut at %s", cuts).isEqualTo(STREAM_WITHOUT_USAGE);
      String sent = "{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      assertThat(upstream.next().bodyText()).isEqualTo(sent);
      AttemptLog.Released released = onlyAttempt();
      assertThat(released.attempt().usedTokens()).isEqualTo(12);
      assertThat(released.attempt().usageEstimated()).isFalse();
      assertThat(released.estimatedTokens()).isEqualTo((sent.length() + 3) / 4 + 300);
      ILoggingEvent line = requestLine();
      assertThat(RequestLogCapture.value(line, "total_tokens")).isEqualTo(12L);
      assertThat(RequestLogCapture.value(line, "tokens_estimated")).isNull();
      assertThat(RequestLogCapture.value(line, "bytes")).isEqualTo((long) STREAM_WITHOUT_USAGE.getBytes(
          StandardCharsets.UTF_8).length);
    }
  }

  @Test
  void theSimulatedProvidersStreamReportsItsUsageWithoutTheCallerSeeingIt() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"nvidia/llama\",\"stream\":true,\"max_tokens\":5}");

    assertThat(response.body()).contains("\"finish_reason\":").endsWith("data: [DONE]\n\n")
        .doesNotContain("\"choices\":[]").doesNotContain("\"prompt_tokens\"");
    assertThat(sim.recentRequests().getFirst().bodyText()).contains("\"include_usage\":true");
    ILoggingEvent line = requestLine();
    assertThat(RequestLogCapture.value(line, "completion_tokens")).isEqualTo(5L);
    assertThat(RequestLogCapture.value(line, "tokens_estimated")).isNull();
  }

  @Test
  void aCallerThatAskedForUsageGetsTheUsageEventAndItsBodyGoesAsSent() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then(sse(whole(STREAM_WITH_USAGE)));
      Sluice sluice = sluice(STRIP, upstream.baseUrl());
      String body = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"),
          body.replace("\"m\"", "\"pool/m\""));

      assertThat(response.body()).isEqualTo(STREAM_WITH_USAGE);
      assertThat(upstream.next().bodyText()).isEqualTo(body);
      assertThat(onlyAttempt().attempt().usedTokens()).isEqualTo(12);
    }
  }

  @Test
  void anExplicitFalseIsTurnedTrueAndTheUsageEventStillRemoved() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then(sse(whole(STREAM_WITH_USAGE)));
      Sluice sluice = sluice(STRIP, upstream.baseUrl());

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"),
          "{\"model\":\"pool/m\",\"stream_options\":{ \"include_usage\" : false },\"stream\":true}");

      assertThat(response.body()).isEqualTo(STREAM_WITHOUT_USAGE);
      assertThat(upstream.next().bodyText())
          .isEqualTo("{\"model\":\"m\",\"stream_options\":{ \"include_usage\" : true },\"stream\":true}");
    }
  }

  @Test
  void withStreamUsageOffTheBodyGoesAsSentAndTheUsageIsEstimatedAndMarked() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then(sse(whole(STREAM_WITHOUT_USAGE)));
      Sluice sluice = sluice("stream_usage: false", upstream.baseUrl());

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), CHAT_STREAM);

      assertThat(response.body()).isEqualTo(STREAM_WITHOUT_USAGE);
      assertThat(upstream.next().bodyText()).isEqualTo(CHAT_STREAM);
      long prompt = (CHAT_STREAM.length() + 3) / 4;
      Attempt attempt = onlyAttempt().attempt();
      assertThat(attempt.usedTokens()).isEqualTo(prompt + STREAM_TEXT_TOKENS);
      assertThat(attempt.usageEstimated()).isTrue();
      ILoggingEvent line = requestLine();
      assertThat(RequestLogCapture.value(line, "prompt_tokens")).isEqualTo(prompt);
      assertThat(RequestLogCapture.value(line, "completion_tokens")).isEqualTo(STREAM_TEXT_TOKENS);
      assertThat(RequestLogCapture.value(line, "total_tokens")).isEqualTo(prompt + STREAM_TEXT_TOKENS);
      assertThat(RequestLogCapture.value(line, "tokens_estimated")).isEqualTo(true);
    }
  }

  @Test
  void aPassthroughStreamIsNeverEdited() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then(sse(whole(STREAM_WITH_USAGE)));
      Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", upstream.baseUrl()));
      String body = "{\"model\":\"elsewhere/m\",\"stream\":true}";

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), body);

      assertThat(response.body()).isEqualTo(STREAM_WITH_USAGE);
      assertThat(upstream.next().bodyText()).isEqualTo(body);
    }
  }

  @Test
  void aJsonAnswerWithUsageCountsItExactly() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      String answer = "{\"id\":\"c2\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"}}],"
          + "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":2,\"total_tokens\":22}}";
      upstream.then("200 OK", "application/json", answer);
      Sluice sluice = sluice(STRIP, upstream.baseUrl());
      String body = "{\"model\":\"pool/m\",\"max_tokens\":50,\"max_completion_tokens\":70}";

      assertThat(harness.post(uri(sluice, "/v1/chat/completions"), body).body()).isEqualTo(answer);

      AttemptLog.Released released = onlyAttempt();
      assertThat(released.attempt().usedTokens()).isEqualTo(22);
      assertThat(released.attempt().usageEstimated()).isFalse();
      // The larger of the two limits; the prompt from the body sent (its prefix stripped).
      assertThat(released.estimatedTokens()).isEqualTo((body.length() - "pool/".length() + 3) / 4 + 70);
      assertThat(RequestLogCapture.value(requestLine(), "tokens_estimated")).isNull();
    }
  }

  @Test
  void aJsonAnswerWithoutUsageIsEstimatedFromItsTextAndMarked() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      String text = "x".repeat(41); // 11 tokens at 4 bytes a token, rounded up
      upstream.then("200 OK", "application/json",
          "{\"id\":\"c3\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"" + text + "\"}}]}");
      Sluice sluice = sluice("", upstream.baseUrl());
      String body = "{\"model\":\"pool/m\",\"messages\":[]}";

      harness.post(uri(sluice, "/v1/chat/completions"), body);

      AttemptLog.Released released = onlyAttempt();
      long prompt = (body.length() + 3) / 4;
      assertThat(released.attempt().usedTokens()).isEqualTo(prompt + 11);
      assertThat(released.attempt().usageEstimated()).isTrue();
      assertThat(released.estimatedTokens()).isEqualTo(prompt + 300); // the pool's default_max_tokens
      ILoggingEvent line = requestLine();
      assertThat(RequestLogCapture.value(line, "completion_tokens")).isEqualTo(11L);
      assertThat(RequestLogCapture.value(line, "tokens_estimated")).isEqualTo(true);
    }
  }

  @Test
  void embeddingsAreExpectedToUseOnlyTheirInput() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then("200 OK", "application/json",
          "{\"data\":[{\"embedding\":[0.1,0.2]}],\"usage\":{\"prompt_tokens\":4,\"total_tokens\":4}}");
      Sluice sluice = sluice("", upstream.baseUrl());
      String body = "{\"model\":\"pool/e\",\"input\":\"some text to embed\"}";

      harness.post(uri(sluice, "/v1/embeddings"), body);

      AttemptLog.Released released = onlyAttempt();
      assertThat(released.estimatedTokens()).isEqualTo((body.length() + 3) / 4);
      assertThat(released.attempt().usedTokens()).isEqualTo(4);
    }
  }

  @Test
  void aStreamCutShortSettlesWithTheEstimateOfWhatWasRelayed() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      // The upstream dies after "Hello": no usage event, no end of the body.
      upstream.then(new RecordingUpstream.Answer("200 OK", "Content-Type: text/event-stream\r\n",
          whole(ROLE_EVENT + HELLO_EVENT + "data: {\"choices\":[{\"delta\":{\"content\":\"cut short her"), false));
      Sluice sluice = sluice(STRIP, upstream.baseUrl());

      try {
        harness.post(uri(sluice, "/v1/chat/completions"), CHAT_STREAM);
      } catch (IOException expected) {
        // the caller's stream breaks as the upstream's did
      }

      AttemptLog.Released released = onlyAttempt();
      long sentPrompt = (CHAT_STREAM.length() - "pool/".length() + "\"stream_options\":{\"include_usage\":true},"
          .length() + 3) / 4;
      // "Hello" and as much of the next text as came: 18 bytes, 5 tokens.
      assertThat(released.attempt().usedTokens()).isEqualTo(sentPrompt + 5);
      assertThat(released.attempt().usageEstimated()).isTrue();
      assertThat(RequestLogCapture.value(requestLine(), "tokens_estimated")).isEqualTo(true);
    }
  }

  @Test
  void aQuotaErrorRelayedToTheCallerIsRecognised() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      String error = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Your credit"
          + " balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase"
          + " credits.\"}}";
      upstream.then("400 Bad Request", "application/json", error);
      Sluice sluice = sluice(STRIP, upstream.baseUrl());

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"pool/m\"}");

      assertThat(response.statusCode()).isEqualTo(400);
      assertThat(response.body()).isEqualTo(error);
      Attempt attempt = onlyAttempt().attempt();
      assertThat(attempt.quotaError()).isTrue();
      assertThat(attempt.usedTokens()).isZero();
      assertThat(attempts.infoLines()).anyMatch(line -> line.contains("backend b1 answered 400, the provider's quota"
          + " error"));
    }
  }

  @Test
  void aQuotaErrorOnAnAttemptThatIsRetriedIsRecognisedAndTheNextBackendAnswers() throws Exception {
    try (RecordingUpstream spent = new RecordingUpstream(); RecordingUpstream fine = new RecordingUpstream()) {
      spent.then(new RecordingUpstream.Answer("429 Too Many Requests", "Content-Type: application/json\r\n",
          whole("{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and billing"
              + " details.\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}"), true));
      fine.then("200 OK", "application/json", "{\"choices\":[],\"usage\":{\"total_tokens\":5}}");
      Sluice sluice = sluice(STRIP, spent.baseUrl(), fine.baseUrl());

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"pool/m\"}");

      assertThat(response.statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> attempts.released().size() == 2);
      List<AttemptLog.Released> released = attempts.released();
      assertThat(released.get(0).backend()).isEqualTo("b1");
      assertThat(released.get(0).attempt().status()).isEqualTo(429);
      assertThat(released.get(0).attempt().quotaError()).isTrue();
      assertThat(released.get(1).backend()).isEqualTo("b2");
      assertThat(released.get(1).attempt().quotaError()).isFalse();
      assertThat(released.get(1).attempt().usedTokens()).isEqualTo(5);
    }
  }

  @Test
  void aPerMinuteRateLimitIsNoQuotaError() throws Exception {
    try (RecordingUpstream limited = new RecordingUpstream(); RecordingUpstream fine = new RecordingUpstream()) {
      limited.then(new RecordingUpstream.Answer("429 Too Many Requests", "Content-Type: application/json\r\n",
          whole("{\"error\":{\"message\":\"Rate limit reached for gpt-4o in organization org-x on tokens per min"
              + " (TPM): Limit 30000, Used 29500, Requested 900. Please try again in 1.8s. Visit"
              + " https://platform.openai.com/account/rate-limits to learn more. You can increase your rate limit by"
              + " adding a payment method to your account at https://platform.openai.com/account/billing.\","
              + "\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}"), true));
      fine.then("200 OK", "application/json", "{\"choices\":[]}");
      Sluice sluice = sluice(STRIP, limited.baseUrl(), fine.baseUrl());

      harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"pool/m\"}");

      await().atMost(Duration.ofSeconds(10)).until(() -> attempts.released().size() == 2);
      assertThat(attempts.released().get(0).attempt().status()).isEqualTo(429);
      assertThat(attempts.released().get(0).attempt().quotaError()).isFalse();
    }
  }

  @Test
  void theProvidersRateLimitHeadersGoWithTheAttempt() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream()) {
      upstream.then(new RecordingUpstream.Answer("200 OK", "Content-Type: application/json\r\n"
          + "x-ratelimit-limit-requests: 60\r\nx-ratelimit-remaining-requests: 59\r\n"
          + "x-ratelimit-reset-requests: 1s\r\nx-ratelimit-limit-tokens: 40000\r\n"
          + "x-ratelimit-remaining-tokens: 39000\r\nx-ratelimit-reset-tokens: 1.5\r\n",
          whole("{\"choices\":[]}"), true));
      Sluice sluice = sluice(STRIP, upstream.baseUrl());

      HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"pool/m\"}");

      assertThat(onlyAttempt().attempt().rateHeaders())
          .isEqualTo(new RateHeaders(60, 59, 1_000_000_000L, 40_000, 39_000, 1_500_000_000L));
      // The caller sees the provider's headers as they came.
      assertThat(response.headers().firstValue("x-ratelimit-reset-tokens")).contains("1.5");
    }
  }
}
