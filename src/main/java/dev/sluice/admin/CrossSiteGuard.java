package dev.sluice.admin;

import dev.sluice.config.CrossChecks;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.server.Request;

/**
 * Keeps web pages the operator happens to visit away from the admin API. A browser lets any page send a "simple"
 * cross-site POST (form-encoded or text/plain body, no preflight) and read nothing back; with DNS rebinding a page
 * can even read answers, its own host name pointing at 127.0.0.1. So, before authentication:
 *
 * <ul>
 *   <li>a POST, and a PATCH with a body, must have {@code Content-Type: application/json} (415
 *       {@code unsupported_content_type}): a page can send that only after a CORS preflight, which Sluice never
 *       approves (nor any PATCH or DELETE, which always need one);
 *   <li>a request whose {@code Origin} is present and is not the request's own {@code scheme://Host}, or whose
 *       {@code Sec-Fetch-Site} is {@code cross-site}, is refused (403 {@code cross_site_request});
 *   <li>without an admin token, a request whose {@code Host} is not a loopback name or address ({@code localhost},
 *       127.0.0.0/8, {@code [::1]}, any port) is refused (403 {@code non_loopback_host}): a rebound name arrives
 *       as its own host name.
 * </ul>
 *
 * The dashboard, served from the same origin, posts JSON with its own origin and passes. Thread-safe: immutable.
 */
final class CrossSiteGuard {
  private final boolean tokenConfigured;

  /** @param tokenConfigured whether callers must present the admin token; without one, only loopback hosts pass */
  CrossSiteGuard(boolean tokenConfigured) {
    this.tokenConfigured = tokenConfigured;
  }

  /** @throws AdminException 403 when the request may come from another site */
  void check(Request request) {
    HttpURI uri = request.getHttpURI();
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (origin != null && !sameOrigin(origin, uri)) {
      throw new AdminException(403, "cross_site_request", "The admin API does not answer requests from other"
          + " sites (Origin " + origin + " is not " + uri.getScheme() + "://" + uri.getAuthority() + ").");
    }
    if ("cross-site".equalsIgnoreCase(request.getHeaders().get("Sec-Fetch-Site"))) {
      throw new AdminException(403, "cross_site_request",
          "The admin API does not answer requests from other sites (Sec-Fetch-Site: cross-site).");
    }
    if (!tokenConfigured && (uri.getHost() == null || !CrossChecks.isLoopback(uri.getHost()))) {
      throw new AdminException(403, "non_loopback_host", "Without an admin token (SIDECAR_ADMIN_TOKEN) the admin"
          + " API answers only requests addressed to localhost, 127.0.0.1 or [::1], not to "
          + (uri.getHost() == null ? "a request without a Host" : uri.getHost()) + ".");
    }
  }

  /** @throws AdminException 415 for a POST, or a PATCH with a body, whose body is not declared as JSON */
  void requireJsonBody(Request request) {
    boolean post = HttpMethod.POST.is(request.getMethod());
    boolean patchWithBody = HttpMethod.PATCH.is(request.getMethod())
        && (request.getLength() > 0 || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING));
    if ((post || patchWithBody) && !json(request.getHeaders().getField(HttpHeader.CONTENT_TYPE))) {
      throw new AdminException(415, "unsupported_content_type", "The admin API takes a " + request.getMethod()
          + " body only with Content-Type: application/json.");
    }
  }

  private static boolean json(HttpField contentType) {
    return contentType != null
        && MimeTypes.getContentTypeWithoutCharset(contentType.getValue()).strip().equalsIgnoreCase("application/json");
  }

  /** Whether {@code origin} is scheme, host and port of the request itself (default ports filled in). */
  private static boolean sameOrigin(String origin, HttpURI request) {
    URI parsed;
    try {
      parsed = new URI(origin.strip());
    } catch (URISyntaxException e) {
      return false; // including "null", sent by sandboxed frames and file: pages
    }
    if (parsed.getScheme() == null || parsed.getHost() == null || request.getScheme() == null
        || request.getHost() == null) {
      return false;
    }
    String scheme = parsed.getScheme().toLowerCase(Locale.ROOT);
    return scheme.equals(request.getScheme().toLowerCase(Locale.ROOT))
        && unbracketed(parsed.getHost()).equalsIgnoreCase(unbracketed(request.getHost()))
        && port(scheme, parsed.getPort()) == port(scheme, request.getPort());
  }

  private static String unbracketed(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  private static int port(String scheme, int port) {
    return port > 0 ? port : scheme.equals("https") ? 443 : 80;
  }
}
