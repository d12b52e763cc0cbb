package dev.sluice.sim;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Answers a call that presents one of {@link SimConfig#rejectedKeys()} as {@code Authorization: Bearer <key>} the
 * way OpenAI answers a revoked or mistyped key: 401, {@code invalid_request_error}, code {@code invalid_api_key},
 * the key masked in the message. Such a call is counted as {@code unauthorized} and never admitted. Keys are never
 * logged. Thread-safe: holds only thread-safe collaborators.
 */
final class KeyCheck {
  /** Keys shorter than this are masked whole: showing eight of their characters would show most of them. */
  private static final int SHORTEST_PARTLY_SHOWN = 12;
  private static final String BEARER = "bearer ";

  private final Counters counters;
  private final Replies replies;

  KeyCheck(Counters counters, Replies replies) {
    this.counters = counters;
    this.replies = replies;
  }

  /** Answers 401 and returns true if the request's key is rejected by {@code config}; else does nothing. */
  boolean refused(Request request, Response response, SimConfig config) throws IOException {
    if (config.rejectedKeys().isEmpty()) {
      return false;
    }
    String key = bearerKey(request.getHeaders().get(HttpHeader.AUTHORIZATION));
    if (key == null || !config.rejectedKeys().contains(key)) {
      return false;
    }
    counters.unauthorized.increment();
    replies.errorWithNullParam(response, 401, "Incorrect API key provided: " + masked(key)
        + ". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error",
        "invalid_api_key", List.of());
    return true;
  }

  /** The key of {@code Bearer <key>} (scheme in any case), or null for another or no scheme. */
  static String bearerKey(String authorization) {
    if (authorization == null || authorization.length() <= BEARER.length()
        || !authorization.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
      return null;
    }
    String key = authorization.substring(BEARER.length()).strip();
    return key.isEmpty() ? null : key;
  }

  /** {@code sk-a****wxyz}: the first and last four characters of a key of 12 or more, else {@code ****}. */
  static String masked(String key) {
    if (key.length() < SHORTEST_PARTLY_SHOWN) {
      return "****";
    }
    return key.substring(0, 4) + "****" + key.substring(key.length() - 4);
  }

  /** The keys as {@link #masked} shows them, in order. */
  static List<String> masked(List<String> keys) {
    return keys.stream().map(KeyCheck::masked).toList();
  }
}
