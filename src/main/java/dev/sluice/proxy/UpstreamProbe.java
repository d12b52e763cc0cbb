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
    var request = client.newRequest(URI.create(UpstreamUri.join(base, "/v1/models", null)))
        .timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    key.ifPresent(secret -> request.headers(h -> h.put(HttpHeader.AUTHORIZATION, "Bearer " + secret.reveal())));
    return new CompletableResponseListener(request, 64 * 1024).send()
        .thenApply(response -> response.getStatus() < 500)
        .exceptionally(failure -> false);
  }
}
