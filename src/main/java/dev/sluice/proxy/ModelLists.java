package dev.sluice.proxy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.time.Clock;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.http.HttpHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model lists of upstreams ({@code GET <base>/models}), fetched with the shared Jetty client and cached per
 * upstream and credentials, so that callers with different keys never see each other's lists.
 *
 * <ul>
 *   <li>A list is fresh for {@value #FRESH_SECONDS} s; callers asking meanwhile get it without a fetch.
 *   <li>Callers asking while a fetch is in flight share it: one fetch per upstream and credentials at a time.
 *   <li>A fetch fails when the upstream does not answer within {@value #TIMEOUT_SECONDS} s, answers anything but
 *       2xx, or answers something other than a model list ({@code {"data":[...]}} or a bare array of objects with
 *       an {@code id}) or one larger than {@value #MAX_LIST_BYTES} bytes. Then its last good list, if it is
 *       younger than {@value #STALE_SECONDS} s, stands in; the failure is remembered for
 *       {@value #RETRY_AFTER_FAILURE_SECONDS} s, so that an upstream that times out delays a caller at most once in
 *       that time. The first failure of a run is logged at WARN, the recovery at INFO; neither names a key.
 *   <li>A 401 or 403 to a caller's own credentials is a refusal of that caller, not a failure of the upstream: no
 *       stale list stands in for it, and it is logged at INFO.
 * </ul>
 *
 * <p>At most {@value #MAX_ENTRIES} upstream-and-credentials pairs are remembered, the least recently asked
 * forgotten first. Credentials are kept only as a SHA-256 digest.
 *
 * <p>Thread-safe: the cache is guarded by this object's monitor, never held across I/O or while a future completes.
 * Fetches complete on the client's executor; the cached model objects are never changed after parsing, so callers
 * may read them concurrently.
 */
final class ModelLists {
  private static final Logger LOG = LoggerFactory.getLogger(ModelLists.class);
  /** How long a fetched list is used without asking again. */
  static final long FRESH_SECONDS = 30;
  /** How long the last good list stands in for an upstream that fails. */
  static final long STALE_SECONDS = 300;
  /** How long a failure is remembered before the upstream is asked again. */
  static final long RETRY_AFTER_FAILURE_SECONDS = 5;
  /** The longest wait for an upstream's whole list. */
  static final long TIMEOUT_SECONDS = 5;
  /** The largest list read from an upstream: 8 MiB. */
  static final int MAX_LIST_BYTES = 8 * 1024 * 1024;
  /** Upstream-and-credentials pairs remembered. */
  static final int MAX_ENTRIES = 256;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final HttpClient client;
  private final Clock clock;
  private final long timeoutMillis;
  private final ObjectMapper json = JsonMapper.builder()
      .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .build();
  private final Map<Key, Cached> cache = new LinkedHashMap<>(16, 0.75f, /* accessOrder= */ true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Key, Cached> eldest) {
      return size() > MAX_ENTRIES;
    }
  };

  /** @param client the shared upstream client, started by the caller */
  ModelLists(HttpClient client, Clock clock) {
    this(client, clock, TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
  }

  /** {@link #ModelLists(HttpClient, Clock)} with another timeout, so that a test need not wait five seconds. */
  ModelLists(HttpClient client, Clock clock, long timeoutMillis) {
    this.client = client;
    this.clock = clock;
    this.timeoutMillis = timeoutMillis;
  }

  /**
   * One upstream list as some caller may ask for it: the list's URL and what authorizes it.
   *
   * @param label names the upstream in logs and errors, e.g. {@code nv-1 (integrate.api.nvidia.com)}; no key
   * @param authorization the {@code Authorization} value to send, if any
   * @param callersCredentials whether {@code authorization} is the caller's own (else a backend's key, or none)
   */
  record Source(URI uri, String label, Optional<String> authorization, boolean callersCredentials) {
    /** What the cache is keyed by: the URL and a digest of the credentials. */
    Key key() {
      return new Key(uri, authorization.map(ModelLists::digest).orElse(""));
    }

    @Override
    public String toString() {
      return "Source[" + label + "]";
    }
  }

  /** Cache key: the list's URL and the SHA-256 of the {@code Authorization} sent for it (empty without one). */
  record Key(URI uri, String credentialsDigest) {}

  /** What asking an upstream for its list gave. */
  sealed interface Fetched permits Listed, Refused, Failed {}

  /** The upstream's models, each object as it gave it: fresh, or its last good list standing in for a failure. */
  record Listed(List<ObjectNode> models) implements Fetched {}

  /** The upstream refused the caller's own credentials with {@code status} (401 or 403). */
  record Refused(int status) implements Fetched {}

  /** The upstream gave no list; {@code reason} says why, for a log line or an error message, and names no key. */
  record Failed(String reason) implements Fetched {}

  /** What the cache holds for one upstream and credentials. Guarded by the {@code ModelLists} monitor. */
  private static final class Cached {
    private List<ObjectNode> models;
    private long listedAtNanos;
    private CompletableFuture<Fetched> inFlight;
    /** The failure of the last fetch, or null when it listed. */
    private Fetched failure;
    private long failedAtNanos;
  }

  /**
   * The list of {@code source}: at once from the cache when it is fresh, else from the fetch in flight or a new
   * one. The future never completes exceptionally.
   */
  CompletableFuture<Fetched> get(Source source) {
    Key key = source.key();
    CompletableFuture<Fetched> fetch;
    Cached entry;
    synchronized (this) {
      long now = clock.nanoTime();
      entry = cache.computeIfAbsent(key, k -> new Cached());
      if (entry.models != null && now - entry.listedAtNanos < FRESH_SECONDS * NANOS_PER_SECOND) {
        return CompletableFuture.completedFuture(new Listed(entry.models));
      }
      if (entry.inFlight != null) {
        return entry.inFlight;
      }
      if (entry.failure != null && now - entry.failedAtNanos < RETRY_AFTER_FAILURE_SECONDS * NANOS_PER_SECOND) {
        return CompletableFuture.completedFuture(afterFailure(entry, now));
      }
      fetch = new CompletableFuture<>();
      entry.inFlight = fetch;
    }
    fetch(source).whenComplete((fetched, failure) -> settle(source, entry, fetch,
        fetched != null ? fetched : new Failed(reason(failure))));
    return fetch;
  }

  /** Sends the request; its future completes on a client thread, exceptionally only if the client is stopping. */
  private CompletableFuture<Fetched> fetch(Source source) {
    Request request;
    try {
      request = client.newRequest(source.uri()).timeout(timeoutMillis, TimeUnit.MILLISECONDS)
          .headers(h -> {
            h.put(HttpHeader.ACCEPT, "application/json");
            source.authorization().ifPresent(value -> h.put(HttpHeader.AUTHORIZATION, value));
          });
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(new Failed("has a URL that cannot be requested"));
    }
    // Parsing a long list is left to a pool thread: the client's own may be a selector.
    return new CompletableResponseListener(request, MAX_LIST_BYTES).send()
        .handleAsync((response, failure) -> failure != null ? new Failed(reason(failure))
            : parse(response, source.callersCredentials()), client.getExecutor());
  }

  private Fetched parse(ContentResponse response, boolean callersCredentials) {
    int status = response.getStatus();
    if ((status == 401 || status == 403) && callersCredentials) {
      return new Refused(status);
    }
    if (status < 200 || status > 299) {
      return new Failed("answered " + status);
    }
    JsonNode root;
    try {
      root = json.readTree(response.getContent());
    } catch (IOException e) {
      return new Failed("answered with something other than a model list");
    }
    JsonNode data = root != null && root.isArray() ? root : root == null ? null : root.get("data");
    if (data == null || !data.isArray()) {
      return new Failed("answered with something other than a model list");
    }
    List<ObjectNode> models = new ArrayList<>(data.size());
    for (JsonNode model : data) {
      if (model instanceof ObjectNode object && object.get("id") != null && object.get("id").isTextual()
          && !object.get("id").asText().isEmpty()) {
        models.add(object);
      }
    }
    return new Listed(List.copyOf(models));
  }

  private void settle(Source source, Cached entry, CompletableFuture<Fetched> fetch, Fetched fetched) {
    Fetched answer;
    boolean wasFailing;
    synchronized (this) {
      long now = clock.nanoTime();
      entry.inFlight = null;
      wasFailing = entry.failure != null;
      if (fetched instanceof Listed listed) {
        entry.models = listed.models();
        entry.listedAtNanos = now;
        entry.failure = null;
        answer = listed;
      } else {
        entry.failure = fetched;
        entry.failedAtNanos = now;
        if (fetched instanceof Refused) {
          entry.models = null; // the credentials that fetched it are refused now
        }
        answer = afterFailure(entry, now);
      }
    }
    log(source, fetched, answer, wasFailing);
    fetch.complete(answer);
  }

  /** The last good list while it may stand in, else the failure. */
  private static Fetched afterFailure(Cached entry, long now) {
    if (entry.models != null && now - entry.listedAtNanos < STALE_SECONDS * NANOS_PER_SECOND) {
      return new Listed(entry.models);
    }
    return entry.failure;
  }

  private static void log(Source source, Fetched fetched, Fetched answer, boolean wasFailing) {
    if (fetched instanceof Listed) {
      if (wasFailing) {
        LOG.atInfo().addKeyValue("upstream", source.label()).log("the upstream lists its models again");
      }
      return;
    }
    if (wasFailing) {
      return;
    }
    String standIn = answer instanceof Listed ? "; its last good list stands in for up to " + STALE_SECONDS + " s"
        : "; its models are left out of GET /v1/models";
    if (fetched instanceof Refused refused) {
      LOG.atInfo().addKeyValue("upstream", source.label()).addKeyValue("status", refused.status())
          .log("the upstream refused a caller's credentials when asked for its models");
    } else if (fetched instanceof Failed failed) {
      LOG.atWarn().addKeyValue("upstream", source.label())
          .log("the upstream " + failed.reason() + " when asked for its models" + standIn);
    }
  }

  /** Why a fetch failed, in a few words that name no key. */
  private String reason(Throwable failure) {
    if (isCause(failure, TimeoutException.class)) {
      return "did not answer within "
          + (timeoutMillis % 1000 == 0 ? timeoutMillis / 1000 + " s" : timeoutMillis + " ms");
    }
    if (isCause(failure, ConnectException.class) || isCause(failure, UnresolvedAddressException.class)
        || isCause(failure, UnknownHostException.class) || isCause(failure, NoRouteToHostException.class)) {
      return "could not be reached";
    }
    if (failure != null && String.valueOf(failure.getMessage()).contains("capacity")) {
      return "sent a list larger than " + MAX_LIST_BYTES + " bytes";
    }
    return "failed (" + (failure == null ? "unknown" : failure.getClass().getSimpleName()) + ")";
  }

  private static boolean isCause(Throwable failure, Class<? extends Throwable> type) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String digest(String credentials) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(credentials.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
