package dev.sluice.admin;

import dev.sluice.config.Secret;
import dev.sluice.http.JsonAnswer;
import dev.sluice.http.OpenAiError;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadFactory;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API: every path under {@code /api/admin/}, served by the {@link AdminRoute}s it is given; other paths
 * are left to the next handler. In order: the cross-site guard ({@link CrossSiteGuard}: 403 for another site's
 * {@code Origin}, {@code Sec-Fetch-Site: cross-site} or, without a token, a non-loopback {@code Host}),
 * authentication ({@code Authorization: Bearer <SIDECAR_ADMIN_TOKEN>};
 * missing gives 401 with {@code WWW-Authenticate: Bearer}, wrong gives 403; compared in constant time), then the
 * route (unknown path 404 {@code not_found}; known path, other method 405 with {@code Allow}, as is a method a route
 * refuses), the {@code Content-Type} of a POST, or of a PATCH with a body (415 unless {@code application/json}),
 * the query string (400 {@code invalid_query} when it cannot be decoded), then the body (read in full, at most {@link #MAX_BODY_BYTES}; 413 beyond), then the
 * route's action. Without a configured token every
 * caller is served: the configuration allows that only when Sluice listens on loopback. Every answer is JSON with
 * {@code Cache-Control: no-store}; errors are OpenAI-shaped, never a stack trace.
 *
 * <p>Thread-safe: immutable. It never blocks a Jetty thread: the body is read asynchronously, and each action runs
 * on a virtual thread of its own, since an action may wait (a configuration change waits for the one before it,
 * and wakes the dispatchers, which answer released waiters on the calling thread).
 */
public final class AdminHandler extends Handler.Abstract.NonBlocking {
  /** Where the admin API lives. */
  public static final String PREFIX = "/api/admin/";
  /** Largest request body accepted, in bytes; admin documents are small. */
  static final int MAX_BODY_BYTES = 1024 * 1024;
  private static final Logger LOG = LoggerFactory.getLogger(AdminHandler.class);
  private static final String BEARER = "bearer ";

  private final JsonAnswer json = new JsonAnswer();
  private final Optional<byte[]> token;
  private final List<AdminRoute> routes;
  private final BiConsumer<Request, Response> nameResponse;
  private final CrossSiteGuard guard;
  private final ThreadFactory actions = Thread.ofVirtual().name("sluice-admin-", 1).factory();

  /**
   * @param adminToken the bearer token callers must present; empty serves every caller (loopback only)
   * @param routes the endpoints; the first whose method and pattern match answers
   * @param nameResponse puts the request's id on its answer, as on every answer Sluice sends
   */
  public AdminHandler(Optional<Secret> adminToken, List<AdminRoute> routes,
      BiConsumer<Request, Response> nameResponse) {
    this.token = adminToken.map(secret -> secret.reveal().getBytes(StandardCharsets.UTF_8));
    this.routes = List.copyOf(routes);
    this.nameResponse = nameResponse;
    this.guard = new CrossSiteGuard(token.isPresent());
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = request.getHttpURI().getPath();
    if (path == null || !(path.startsWith(PREFIX) || path.equals(PREFIX.substring(0, PREFIX.length() - 1)))) {
      return false;
    }
    nameResponse.accept(request, response);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    try {
      guard.check(request);
      authenticate(request, response);
      AdminRoute route = route(request.getMethod(), path, response);
      Map<String, String> params = route.match(path).orElseThrow();
      guard.requireJsonBody(request);
      Map<String, List<String>> query = query(request);
      long declared = request.getLength();
      if (declared > MAX_BODY_BYTES && declared <= 2L * MAX_BODY_BYTES) {
        // Read what the caller is still sending before answering: a connection closed with unread bytes is reset,
        // and the caller might never see the 413. Beyond twice the limit it is not worth reading.
        Content.Source.consumeAll(request, Callback.from(() -> writeError(response, callback, tooLarge()),
            callback::failed));
        return true;
      }
      if (declared > MAX_BODY_BYTES) {
        throw tooLarge();
      }
      CompletableFuture<byte[]> body = Content.Source.asByteArrayAsync(request, MAX_BODY_BYTES);
      body.whenComplete((bytes, failure) -> {
        if (failure != null) {
          Throwable cause = failure instanceof CompletionException && failure.getCause() != null
              ? failure.getCause() : failure;
          // Jetty signals a body past the limit with an IllegalStateException; a broken connection is an I/O error.
          writeError(response, callback, cause instanceof IllegalStateException ? tooLarge()
              : new AdminException(400, "invalid_body", "The request body could not be read."));
          return;
        }
        var adminRequest = new AdminRequest(request.getMethod(), path, params, query, bytes,
            Request.getRemoteAddr(request));
        actions.newThread(() -> answer(route, adminRequest, response, callback)).start();
      });
    } catch (AdminException e) {
      writeError(response, callback, e);
    }
    return true;
  }

  private void answer(AdminRoute route, AdminRequest request, Response response, Callback callback) {
    AdminResponse answer;
    try {
      answer = route.action().apply(request);
    } catch (AdminException e) {
      writeError(response, callback, e);
      return;
    } catch (RuntimeException e) {
      LOG.error("admin request {} {} failed", request.method(), request.path(), e);
      writeError(response, callback, new AdminException(500, "internal_error",
          "The admin request failed inside Sluice; see its log."));
      return;
    }
    json.write(response, callback, answer.status(), answer.body());
  }

  private void authenticate(Request request, Response response) {
    if (token.isEmpty()) {
      return;
    }
    String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())
        || header.substring(BEARER.length()).isBlank()) {
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
      throw new AdminException(401, "missing_admin_token",
          "The admin API needs Authorization: Bearer with the admin token (SIDECAR_ADMIN_TOKEN).");
    }
    byte[] given = header.substring(BEARER.length()).strip().getBytes(StandardCharsets.UTF_8);
    // Constant time: how much of the token a guess got right must not show in how long the answer takes.
    if (!MessageDigest.isEqual(token.get(), given)) {
      throw new AdminException(403, "invalid_admin_token", "The admin token is not valid.");
    }
  }

  private AdminRoute route(String method, String path, Response response) {
    List<AdminRoute> matching = routes.stream().filter(r -> r.match(path).isPresent()).toList();
    if (matching.isEmpty()) {
      throw new AdminException(404, "not_found", "No admin endpoint at " + path + ".");
    }
    Optional<AdminRoute> chosen = matching.stream().filter(r -> r.method().equals(method.toUpperCase(Locale.ROOT)))
        .findFirst();
    if (chosen.isPresent() && chosen.get().refusal().isEmpty()) {
      return chosen.get();
    }
    String allowed = matching.stream().filter(r -> r.refusal().isEmpty()).map(AdminRoute::method).distinct()
        .collect(Collectors.joining(", "));
    response.getHeaders().put(HttpHeader.ALLOW, allowed);
    String use = "Use " + allowed + " for " + path + ".";
    throw new AdminException(405, "method_not_allowed", chosen.flatMap(AdminRoute::refusal)
        .map(why -> why + " " + use).orElse(use));
  }

  private static Map<String, List<String>> query(Request request) {
    if (request.getHttpURI().getQuery() == null) {
      return Map.of();
    }
    Fields fields;
    try {
      fields = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    } catch (RuntimeException e) {
      throw new AdminException(400, "invalid_query", "The query string could not be decoded as UTF-8 URL encoding.");
    }
    Map<String, List<String>> query = new LinkedHashMap<>();
    for (Fields.Field field : fields) {
      query.put(field.getName(), List.copyOf(field.getValues()));
    }
    return query;
  }

  private static AdminException tooLarge() {
    return new AdminException(413, "request_too_large",
        "The request body is larger than " + MAX_BODY_BYTES + " bytes.");
  }

  private static void writeError(Response response, Callback callback, AdminException e) {
    new OpenAiError(e.status(), e.type(), e.code(), e.getMessage(), e.param()).write(response, callback);
  }
}
