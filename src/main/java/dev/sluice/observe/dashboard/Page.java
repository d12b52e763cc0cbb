package dev.sluice.observe.dashboard;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The dashboard page: {@code index.html} from the jar with the vendored chart library (uPlot), its style sheet,
 * the page's own style and script inlined, so that one answer is the whole page and nothing is fetched from
 * elsewhere. Read once at start-up. Immutable, so thread-safe.
 */
final class Page {
  private static final String DIR = "/dashboard/";
  private final byte[] html;
  private final String etag;

  private Page(byte[] html) {
    this.html = html;
    this.etag = "\"" + HexFormat.of().formatHex(sha256(html), 0, 16) + "\"";
  }

  static Page load() {
    String page = resource("index.html")
        .replace("/*uplot.css*/", resource("uPlot.min.css"))
        .replace("/*dashboard.css*/", resource("dashboard.css"))
        .replace("/*uplot.js*/", resource("uPlot.iife.min.js"))
        .replace("/*dashboard.js*/", resource("dashboard.js"));
    return new Page(page.getBytes(StandardCharsets.UTF_8));
  }

  byte[] html() {
    return html;
  }

  /** A strong validator of the page's bytes, quoted as the {@code ETag} header wants it. */
  String etag() {
    return etag;
  }

  private static String resource(String name) {
    try (InputStream in = Page.class.getResourceAsStream(DIR + name)) {
      if (in == null) {
        throw new IllegalStateException("dashboard resource missing from the jar: " + DIR + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
