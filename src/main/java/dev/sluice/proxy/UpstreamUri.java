package dev.sluice.proxy;

import java.net.URI;

/** Joins a backend base URL and a request path without doubling a shared {@code /v1}. Stateless. */
final class UpstreamUri {
  private UpstreamUri() {}

  /**
   * {@code https://h/v1} + {@code /v1/chat/completions} gives {@code https://h/v1/chat/completions}, and so does
   * {@code https://h/v1} + {@code /chat/completions}; {@code https://h} + {@code /v1/models} gives
   * {@code https://h/v1/models}.
   *
   * @param rawPathAndQuery the request's raw (still encoded) path and query
   */
  static String join(URI base, String rawPath, String rawQuery) {
    String basePath = base.getRawPath() == null ? "" : base.getRawPath();
    while (basePath.endsWith("/")) {
      basePath = basePath.substring(0, basePath.length() - 1);
    }
    String path = rawPath.isEmpty() ? "/" : rawPath;
    if (basePath.endsWith("/v1") && (path.equals("/v1") || path.startsWith("/v1/"))) {
      path = path.substring(3);
    }
    StringBuilder uri = new StringBuilder(base.getScheme()).append("://").append(base.getRawAuthority())
        .append(basePath).append(path);
    if (rawQuery != null) {
      uri.append('?').append(rawQuery);
    }
    return uri.toString();
  }
}
