package dev.sluice.proxy;

import dev.sluice.config.AccountingConfig.QuotaErrors;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;

/**
 * The first {@value QuotaErrors#MATCHED_BYTES} bytes of an upstream answer whose status may carry the provider's
 * quota error, kept (copied) as they pass, whether the answer is relayed or dropped for a retry, and matched against
 * the pool's patterns once it has ended. A body compressed with {@code gzip} or {@code deflate} is inflated (as much
 * of it as was kept) before matching; one of another coding cannot be matched. Not thread-safe: used by one
 * attempt's relay, whose callbacks Jetty serializes.
 */
final class QuotaErrorBody {
  private final String contentEncoding;
  private byte[] bytes = new byte[1024];
  private int length;

  /** @param contentEncoding the answer's {@code Content-Encoding}, or null */
  QuotaErrorBody(String contentEncoding) {
    this.contentEncoding = contentEncoding;
  }

  /** Keeps what fits of the next bytes of the body, without moving the chunk's position. */
  void take(ByteBuffer chunk) {
    int n = Math.min(chunk.remaining(), QuotaErrors.MATCHED_BYTES - length);
    if (n <= 0) {
      return;
    }
    if (length + n > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.min(QuotaErrors.MATCHED_BYTES, Math.max(length + n, bytes.length * 2)));
    }
    chunk.get(chunk.position(), bytes, length, n);
    length += n;
  }

  /** Whether the body kept contains one of {@code patterns}, compared without regard to case. */
  boolean matches(List<String> patterns) {
    if (patterns.isEmpty() || length == 0) {
      return false;
    }
    String text = text().toLowerCase(Locale.ROOT);
    for (String pattern : patterns) {
      if (text.contains(pattern.toLowerCase(Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }

  private String text() {
    String coding = contentEncoding == null ? "identity" : contentEncoding.strip().toLowerCase(Locale.ROOT);
    return switch (coding) {
      case "identity", "" -> new String(bytes, 0, length, StandardCharsets.UTF_8);
      case "gzip", "x-gzip" -> inflated(true);
      case "deflate" -> inflated(false);
      default -> "";
    };
  }

  /** As much of the kept bytes as inflates, up to the matched length; a body cut short inflates in part. */
  private String inflated(boolean gzip) {
    byte[] out = new byte[QuotaErrors.MATCHED_BYTES];
    int n = 0;
    try (InputStream in = gzip ? new GZIPInputStream(new ByteArrayInputStream(bytes, 0, length))
        : new InflaterInputStream(new ByteArrayInputStream(bytes, 0, length))) {
      for (int read; n < out.length && (read = in.read(out, n, out.length - n)) > 0; ) {
        n += read;
      }
    } catch (IOException cutShortOrNotCompressed) {
      // What inflated before the end of the kept bytes is still worth matching.
    }
    return new String(out, 0, n, StandardCharsets.UTF_8);
  }
}
