package dev.sluice.proxy;

import dev.sluice.backend.Backend;
import dev.sluice.config.Secret;
import java.net.URI;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Asks an upstream whether it is reachable: {@code GET <base>/models} through the shared client, with the
 * backend's key if it has one, within 5 s. Any status below 500 counts as reachable. Thread-safe.
 */
public final class UpstreamProbe {
  static final long TIMEOUT_SECONDS = 5;
  private final HttpClient client;
  private final URI base;
  private final Optional<Secret> key;

  public UpstreamProbe(HttpClient client, Backend backend) {
    this.client = client;
    this.base = backend.baseUrl();
    this.key = backend.apiKey();
  }

  /** Completes with true when the upstream answered with a status below 500; never completes exceptionally. */
  public CompletableFuture<Boolean> reachable() {
    return modelsStatus(client, base, key).thenApply(status -> status > 0 && status < 500);
  }

  /**
   * The status {@code GET <base>/models} is answered with, sent with {@code key} if present, within 5 s; 0 when no
   * answer came. Never completes exceptionally.
   */
  static CompletableFuture<Integer> modelsStatus(HttpClient client, URI base, Optional<Secret> key) {
    var request = client.newRequest(URI.create(UpstreamUri.join(base, "/v1/models", null)))
        .timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    key.ifPresent(secret -> request.headers(h -> h.put(HttpHeader.AUTHORIZATION, "Bearer " + secret.reveal())));
    return new CompletableResponseListener(request, 64 * 1024).send()
        .thenApply(response -> response.getStatus())
        .exceptionally(failure -> 0);
  }
}
