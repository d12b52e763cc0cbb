package dev.sluice.sim;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A request as the simulated provider received it, before any limit was applied.
 *
 * @param method the HTTP method, e.g. {@code POST}
 * @param path the path with the query string, as sent, e.g. {@code /v1/chat/completions?x=1}
 * @param headers the header fields in arrival order, duplicates kept, names in the case they arrived (except that
 *     Jetty's HTTP/1.1 parser spells a few well-known names, such as {@code Host} and {@code Authorization}, its
 *     canonical way)
 * @param body the body bytes exactly as received (a copy)
 */
public record RecordedRequest(String method, String path, List<Header> headers, byte[] body) {

  /** One header field as received. */
  public record Header(String name, String value) {}

  public RecordedRequest {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    headers = List.copyOf(headers);
    body = body.clone();
  }

  /** A copy of the body bytes. */
  @Override
  public byte[] body() {
    return body.clone();
  }

  /** The body decoded as UTF-8. */
  public String bodyText() {
    return new String(body, StandardCharsets.UTF_8);
  }

  /** The first value of the header {@code name} (compared ignoring case), or {@code null}. */
  public String header(String name) {
    for (Header header : headers) {
      if (header.name().equalsIgnoreCase(name)) {
        return header.value();
      }
    }
    return null;
  }

  /** Every value of the header {@code name} (compared ignoring case), in arrival order. */
  public List<String> headerValues(String name) {
    return headers.stream().filter(h -> h.name().equalsIgnoreCase(name)).map(Header::value).toList();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RecordedRequest r && method.equals(r.method) && path.equals(r.path)
        && headers.equals(r.headers) && Arrays.equals(body, r.body);
  }

  @Override
  public int hashCode() {
    return Objects.hash(method, path, headers, Arrays.hashCode(body));
  }

  @Override
  public String toString() {
    return "RecordedRequest[" + method + " " + path + ", headers=" + headers.size() + ", body=" + body.length
        + " bytes]";
  }
}
