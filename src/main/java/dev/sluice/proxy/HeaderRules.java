package dev.sluice.proxy;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Which headers cross the proxy. Hop-by-hop headers (RFC 9110 §7.6.1, plus those a {@code Connection} header
 * names) stop at Sluice in both directions; so do Sluice's own headers ({@code X-Priority} and {@code X-Sluice-*}
 * towards the upstream, {@code X-Sluice-*} from it, as an upstream Sluice's timings are not this one's) and the
 * ones the upstream client sets itself ({@code Host}, {@code Content-Length}).
 */
final class HeaderRules {
  private static final EnumSet<HttpHeader> HOP_BY_HOP = EnumSet.of(
      HttpHeader.CONNECTION, HttpHeader.KEEP_ALIVE, HttpHeader.PROXY_AUTHORIZATION,
      HttpHeader.PROXY_AUTHENTICATE, HttpHeader.PROXY_CONNECTION, HttpHeader.TRANSFER_ENCODING, HttpHeader.TE,
      HttpHeader.TRAILER, HttpHeader.UPGRADE);
  private static final EnumSet<HttpHeader> SET_BY_CLIENT = EnumSet.of(
      HttpHeader.HOST, HttpHeader.CONTENT_LENGTH, HttpHeader.EXPECT);

  private HeaderRules() {}

  /** Copies the caller's headers to the upstream request; the backend key, if any, replaces the caller's. */
  static void copyRequestHeaders(HttpFields from, HttpFields.Mutable to, String backendKey) {
    Set<String> connectionListed = connectionListed(from);
    for (HttpField field : from) {
      HttpHeader header = field.getHeader();
      if (header != null && (HOP_BY_HOP.contains(header) || SET_BY_CLIENT.contains(header))) {
        continue;
      }
      String name = field.getLowerCaseName();
      if (isSluiceOnly(name) || connectionListed.contains(name)) {
        continue;
      }
      if (backendKey != null && header == HttpHeader.AUTHORIZATION) {
        continue;
      }
      to.add(field);
    }
    if (backendKey != null) {
      to.put(HttpHeader.AUTHORIZATION, "Bearer " + backendKey);
    }
  }

  /** Copies the upstream's response headers to the caller. */
  static void copyResponseHeaders(HttpFields from, HttpFields.Mutable to) {
    Set<String> connectionListed = connectionListed(from);
    for (HttpField field : from) {
      HttpHeader header = field.getHeader();
      if (header != null && HOP_BY_HOP.contains(header)) {
        continue;
      }
      String name = field.getLowerCaseName();
      if (connectionListed.contains(name) || name.startsWith("x-sluice-")) {
        continue;
      }
      to.add(field);
    }
  }

  static boolean isSluiceOnly(String lowerCaseName) {
    return lowerCaseName.equals("x-priority") || lowerCaseName.startsWith("x-sluice-");
  }

  private static Set<String> connectionListed(HttpFields fields) {
    Set<String> names = Set.of();
    for (String value : fields.getValuesList(HttpHeader.CONNECTION)) {
      for (String name : value.split(",")) {
        String trimmed = name.strip().toLowerCase(Locale.ROOT);
        if (!trimmed.isEmpty()) {
          if (names.isEmpty()) {
            names = new HashSet<>();
          }
          names.add(trimmed);
        }
      }
    }
    return names;
  }
}
