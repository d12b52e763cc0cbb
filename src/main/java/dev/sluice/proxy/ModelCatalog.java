package dev.sluice.proxy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.backend.Backend;
import dev.sluice.backend.Pool;
import dev.sluice.http.JsonAnswer;
import dev.sluice.http.OpenAiError;
import dev.sluice.proxy.ModelLists.Failed;
import dev.sluice.proxy.ModelLists.Fetched;
import dev.sluice.proxy.ModelLists.Key;
import dev.sluice.proxy.ModelLists.Listed;
import dev.sluice.proxy.ModelLists.Refused;
import dev.sluice.proxy.ModelLists.Source;
import dev.sluice.route.Router;
import dev.sluice.time.Clock;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;

/**
 * {@code GET /v1/models} (with any query, which is ignored), answered by Sluice: one OpenAI list,
 * {@code {"object":"list","data":[...]}}, of the models a caller can reach through it, merged from the lists of
 * every pool's backends and of the passthrough upstream ({@link ModelLists} fetches and caches them). Every other
 * request, {@code GET /v1/models/{id}} included, is left to the next handler.
 *
 * <p>Each list is asked for as the proxy would send a request there: a backend with a key sends its key, a backend
 * without one and the passthrough upstream send the caller's {@code Authorization} (and nothing else of the
 * caller's). Each model object is kept as its upstream gave it, with two rules so that the list holds exactly the
 * ids a caller can send:
 *
 * <ul>
 *   <li>A pool with {@code strip_prefix} forwards models without their provider prefix, so its backends list ids
 *       without one: they are listed with the pool's first alias in front ({@code nvidia/meta/llama-3.1-8b}). Such
 *       a pool without an alias lists nothing.
 *   <li>A model is listed only if the {@link Router} sends its id to where it came from: a backend's model to that
 *       backend's pool (a model its pool does not claim is out of reach through the pool), the passthrough
 *       upstream's to passthrough (one a pool claims would go to the pool).
 * </ul>
 *
 * <p>The first of equal ids wins, in the order pools are declared, their backends in order, then passthrough. An
 * upstream that fails is left out (or stands in with its last good list; see {@link ModelLists}). When no upstream
 * gave a list: 502 {@code upstream_failed}, naming each upstream and what went wrong. When the list would be empty
 * because an upstream refused the caller's credentials: that 401 or 403, code {@code upstream_refused_credentials}.
 * The answer carries {@code X-Sluice-Request-Id} and {@code X-Sluice-Overhead-Ms} (not counting the wait for
 * upstream lists). It is Sluice's own answer, like {@code /status}: it writes no request log line and is not counted
 * as a request.
 *
 * <p>Never blocks: an answer not served from the cache is written from the callback of the last list to arrive.
 * Thread-safe: the pools and the router are immutable, and the lists guard themselves.
 */
public final class ModelCatalog extends Handler.Abstract.NonBlocking {
  static final String PATH = "/v1/models";

  private final List<Pool> pools;
  private final Router router;
  private final URI passthroughUpstream;
  private final ModelLists lists;
  private final RequestIds requestIds;
  private final JsonAnswer json = new JsonAnswer();

  /**
   * @param pools the pools in declaration order, the ones {@code router} routes to
   * @param passthroughUpstream where requests that match no pool go
   * @param client the shared upstream client, started before the first request
   * @param clock decides when a cached list is too old
   * @param requestIds names each answer
   */
  public ModelCatalog(List<Pool> pools, Router router, URI passthroughUpstream, HttpClient client, Clock clock,
      RequestIds requestIds) {
    this.pools = List.copyOf(pools);
    this.router = router;
    this.passthroughUpstream = passthroughUpstream;
    this.lists = new ModelLists(client, clock);
    this.requestIds = requestIds;
  }

  /** Where a list comes from, and whose models in it a caller may reach: a pool's, or passthrough's (empty). */
  private record Origin(Source source, Optional<Pool> pool) {}

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    if (!"GET".equals(request.getMethod()) || !PATH.equals(request.getHttpURI().getPath())) {
      return false;
    }
    Optional<String> callers = Optional.ofNullable(request.getHeaders().get(HttpHeader.AUTHORIZATION));
    List<Origin> origins = origins(callers);
    // Two origins asking the same URL with the same credentials share one list.
    Map<Key, CompletableFuture<Fetched>> fetches = new LinkedHashMap<>();
    for (Origin origin : origins) {
      fetches.computeIfAbsent(origin.source().key(), key -> lists.get(origin.source()));
    }
    long waitStart = NanoTime.now();
    boolean cached = fetches.values().stream().allMatch(CompletableFuture::isDone);
    CompletableFuture.allOf(fetches.values().toArray(CompletableFuture[]::new)).whenComplete((done, failure) -> {
      long waitedNanos = cached ? 0 : NanoTime.since(waitStart);
      try {
        answer(request, response, callback, callers, origins, fetches, waitedNanos);
      } catch (RuntimeException e) {
        callback.failed(e);
      }
    });
    return true;
  }

  private List<Origin> origins(Optional<String> callers) {
    List<Origin> origins = new ArrayList<>();
    for (Pool pool : pools) {
      for (Backend backend : pool.backends()) {
        Optional<String> key = backend.apiKey().map(secret -> "Bearer " + secret.reveal());
        origins.add(new Origin(new Source(listUri(backend.baseUrl()), backend.id() + " (" + host(backend.baseUrl())
            + ")", key.isPresent() ? key : callers, key.isEmpty()), Optional.of(pool)));
      }
    }
    origins.add(new Origin(new Source(listUri(passthroughUpstream), "passthrough (" + host(passthroughUpstream) + ")",
        callers, true), Optional.empty()));
    return origins;
  }

  private void answer(Request request, Response response, Callback callback, Optional<String> callers,
      List<Origin> origins, Map<Key, CompletableFuture<Fetched>> fetches, long waitedNanos) {
    ArrayNode data = JsonNodeFactory.instance.arrayNode();
    Set<String> ids = new HashSet<>();
    List<String> failures = new ArrayList<>();
    Optional<Refusal> refusal = Optional.empty();
    boolean listed = false;
    for (Origin origin : origins) {
      Fetched fetched = fetches.get(origin.source().key()).join();
      switch (fetched) {
        case Listed list -> {
          listed = true;
          for (ObjectNode model : list.models()) {
            String id = callerId(origin.pool(), model.get("id").asText());
            if (id != null && reaches(id, origin.pool()) && ids.add(id)) {
              data.add(id.equals(model.get("id").asText()) ? model : renamed(model, id));
            }
          }
        }
        case Refused refused ->
            refusal = refusal.or(() -> Optional.of(new Refusal(origin.source(), refused, callers.isPresent())));
        case Failed failed -> failures.add(origin.source().label() + " " + failed.reason());
      }
    }
    response.getHeaders().put(RequestIds.RESPONSE_HEADER, requestIds.idFor(request.getHeaders()));
    TimingHeaders.putOverhead(response.getHeaders(), NanoTime.since(request.getBeginNanoTime()) - waitedNanos);
    if (data.isEmpty() && refusal.isPresent()) {
      refusal.get().error().write(response, callback);
    } else if (!listed) {
      new OpenAiError(502, "upstream_error", "upstream_failed", "No upstream listed its models: "
          + String.join("; ", failures.stream().distinct().toList()) + ".").write(response, callback);
    } else {
      ObjectNode list = JsonNodeFactory.instance.objectNode();
      list.put("object", "list");
      list.set("data", data);
      json.write(response, callback, 200, list);
    }
  }

  /** An upstream refused the caller's credentials, or the lack of them. */
  private record Refusal(Source source, Refused refused, boolean callerSentCredentials) {
    OpenAiError error() {
      int status = refused.status();
      return new OpenAiError(status, status == 401 ? "authentication_error" : "permission_error",
          "upstream_refused_credentials", "The upstream " + source.label() + " refused "
              + (callerSentCredentials ? "the credentials of this request" : "a request without credentials")
              + " (" + status + "), and no other upstream lists a model for it.");
    }
  }

  /** The id a caller sends for {@code upstreamId} of this origin, or null when it has none. */
  private static String callerId(Optional<Pool> pool, String upstreamId) {
    if (pool.isEmpty() || !pool.get().stripPrefix()) {
      return upstreamId;
    }
    List<String> aliases = pool.get().aliases();
    return aliases.isEmpty() ? null : aliases.getFirst() + "/" + upstreamId;
  }

  /** Whether a request for {@code id} goes where its list came from. */
  private boolean reaches(String id, Optional<Pool> pool) {
    return router.route(id).map(Pool::name).equals(pool.map(Pool::name));
  }

  private static ObjectNode renamed(ObjectNode model, String id) {
    ObjectNode copy = model.deepCopy();
    copy.put("id", id);
    return copy;
  }

  private static URI listUri(URI base) {
    return URI.create(UpstreamUri.join(base, PATH, null));
  }

  private static String host(URI base) {
    return base.getHost() + (base.getPort() > 0 ? ":" + base.getPort() : "");
  }
}
