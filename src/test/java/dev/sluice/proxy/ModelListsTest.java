package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.proxy.ModelLists.Failed;
import dev.sluice.proxy.ModelLists.Fetched;
import dev.sluice.proxy.ModelLists.Listed;
import dev.sluice.proxy.ModelLists.Source;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One upstream's model list: one fetch for all who ask at once, what counts as a list, and the timeout. */
class ModelListsTest {
  private final HttpClient client = new HttpClient();
  private final ManualClock clock = new ManualClock();
  private final List<AutoCloseable> upstreams = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    client.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.stop();
    for (AutoCloseable upstream : upstreams) {
      upstream.close();
    }
  }

  private ScriptedUpstream scripted() throws Exception {
    ScriptedUpstream upstream = new ScriptedUpstream();
    upstreams.add(upstream);
    return upstream;
  }

  private CannedUpstream canned(String contentType, String body) throws Exception {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    CannedUpstream upstream = new CannedUpstream(CannedUpstream.response("200 OK",
        "Content-Type: " + contentType + "\r\nContent-Length: " + bytes.length + "\r\n", bytes));
    upstreams.add(upstream);
    return upstream;
  }

  private static Source source(String baseUrl) {
    return new Source(URI.create(baseUrl + "/models"), "test", Optional.of("Bearer sk-test"), false);
  }

  private static Fetched await(CompletableFuture<Fetched> fetch) throws Exception {
    return fetch.get(20, TimeUnit.SECONDS);
  }

  private static List<String> ids(Fetched fetched) {
    assertThat(fetched).isInstanceOf(Listed.class);
    return ((Listed) fetched).models().stream().map(model -> model.get("id").asText()).toList();
  }

  @Test
  void callersAskingDuringAFetchShareIt() throws Exception {
    ScriptedUpstream upstream = scripted();
    ModelLists lists = new ModelLists(client, clock);
    Source source = source(upstream.baseUrl());

    CompletableFuture<Fetched> first = lists.get(source);
    ScriptedUpstream.Call call = upstream.next();
    List<CompletableFuture<Fetched>> others = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      others.add(lists.get(source));
    }

    assertThat(others).allSatisfy(other -> assertThat(other).isSameAs(first));
    assertThat(first).isNotDone();
    call.status(200, "application/json").end("{\"object\":\"list\",\"data\":[{\"id\":\"m1\"}]}");
    assertThat(ids(await(first))).containsExactly("m1");
    assertThat(upstream.waiting()).isZero();
  }

  @Test
  void aBareArrayOfModelsIsAList() throws Exception {
    CannedUpstream upstream = canned("application/json", "[{\"id\":\"a\",\"object\":\"model\"},{\"id\":\"b\"}]");

    Fetched fetched = await(new ModelLists(client, clock).get(source("http://127.0.0.1:" + upstream.port())));

    assertThat(ids(fetched)).containsExactly("a", "b");
  }

  @Test
  void entriesWithoutATextualIdAreSkippedAndTheOthersKeepEveryField() throws Exception {
    CannedUpstream upstream = canned("application/json", "{\"data\":[{\"id\":\"a\",\"created\":1.50,"
        + "\"owned_by\":\"x\",\"extra\":{\"n\":12345678901234567890}},"
        + "{\"id\":7},{\"name\":\"c\"},\"d\",{\"id\":\"\"}]}");

    Fetched fetched = await(new ModelLists(client, clock).get(source("http://127.0.0.1:" + upstream.port())));

    assertThat(ids(fetched)).containsExactly("a");
    assertThat(((Listed) fetched).models().getFirst().toString())
        .isEqualTo("{\"id\":\"a\",\"created\":1.50,\"owned_by\":\"x\",\"extra\":{\"n\":12345678901234567890}}");
  }

  @Test
  void somethingOtherThanAListIsAFailure() throws Exception {
    CannedUpstream html = canned("text/html", "<html>models</html>");
    CannedUpstream object = canned("application/json", "{\"object\":\"list\"}");

    ModelLists lists = new ModelLists(client, clock);

    assertThat(await(lists.get(source("http://127.0.0.1:" + html.port()))))
        .isEqualTo(new Failed("answered with something other than a model list"));
    assertThat(await(lists.get(source("http://127.0.0.1:" + object.port()))))
        .isEqualTo(new Failed("answered with something other than a model list"));
  }

  @Test
  void aListLargerThanTheLimitIsAFailure() throws Exception {
    String big = "{\"data\":[" + "{\"id\":\"m\"},".repeat(ModelLists.MAX_LIST_BYTES / 10) + "{\"id\":\"z\"}]}";
    CannedUpstream upstream = canned("application/json", big);

    Fetched fetched = await(new ModelLists(client, clock).get(source("http://127.0.0.1:" + upstream.port())));

    assertThat(fetched).isEqualTo(new Failed("sent a list larger than " + ModelLists.MAX_LIST_BYTES + " bytes"));
  }

  @Test
  void anUpstreamThatDoesNotAnswerInTimeFails() throws Exception {
    ScriptedUpstream upstream = scripted();

    Fetched fetched = await(new ModelLists(client, clock, 200).get(source(upstream.baseUrl())));

    assertThat(fetched).isEqualTo(new Failed("did not answer within 200 ms"));
  }

  @Test
  void aFailureIsRememberedForFiveSecondsThenAskedAgain() throws Exception {
    ScriptedUpstream upstream = scripted();
    ModelLists lists = new ModelLists(client, clock);
    Source source = source(upstream.baseUrl());

    CompletableFuture<Fetched> first = lists.get(source);
    upstream.next().status(500, "application/json").end("{}");
    assertThat(await(first)).isEqualTo(new Failed("answered 500"));
    clock.advance(Duration.ofSeconds(ModelLists.RETRY_AFTER_FAILURE_SECONDS).minusMillis(1));
    assertThat(await(lists.get(source))).isEqualTo(new Failed("answered 500"));
    assertThat(upstream.waiting()).isZero();

    clock.advance(Duration.ofMillis(1));
    CompletableFuture<Fetched> again = lists.get(source);
    upstream.next().status(200, "application/json").end("{\"data\":[{\"id\":\"back\"}]}");
    assertThat(ids(await(again))).containsExactly("back");
  }
}
