package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import dev.sluice.http.OpenAiError;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * The body of an upstream's error answer (status 400 or more), held back until it has all arrived so that Sluice
 * can tell whether the caller may have it as sent. A JSON error, a JSON content type and a body that is one JSON
 * object (or is compressed, so cannot be checked), is relayed byte for byte. Anything else, such as a load
 * balancer's HTML page, is replaced by an OpenAI error with the upstream's status and an excerpt of the body:
 * at most {@value #EXCERPT_CHARS} characters, control characters and runs of white space turned into one space,
 * and the credentials that were sent upstream masked in case the page echoes them (no excerpt of a compressed
 * body).
 *
 * <p>At most {@value #MAX_HELD_BYTES} bytes are held: a longer JSON body is relayed unchecked from there on, and a
 * longer other body is read to its end but only its first bytes are kept for the excerpt.
 *
 * <p>Not thread-safe: used by one exchange's relay, whose callbacks Jetty serializes.
 */
final class UpstreamErrorBody {
  static final int MAX_HELD_BYTES = 16 * 1024;
  static final int EXCERPT_CHARS = 200;
  /** Control and format characters (C0, C1, bidi overrides) and white space, replaced by one space in excerpts. */
  private static final Pattern CONTROL_OR_SPACE = Pattern.compile("[\\p{Cc}\\p{Cf}\\p{Z}\\s]+");
  private final int status;
  /** The body's media type, and its content coding if any, for the message. */
  private final String describedType;
  private final boolean json;
  /** A compressed body: no excerpt can be read from it. */
  private final boolean coded;
  private byte[] bytes = new byte[1024];
  private int length;
  private long seen;

  private UpstreamErrorBody(int status, String describedType, boolean json, boolean coded) {
    this.status = status;
    this.describedType = describedType;
    this.json = json;
    this.coded = coded;
  }

  /**
   * A holder for the body of this upstream answer, or empty when the answer is no error or is one that passes
   * unchecked: a compressed JSON body, or the answer to HEAD, which has none.
   */
  static Optional<UpstreamErrorBody> of(int status, HttpFields upstreamHeaders, String method) {
    if (status < 400 || "HEAD".equals(method)) {
      return Optional.empty();
    }
    String contentType = upstreamHeaders.get(HttpHeader.CONTENT_TYPE);
    String mimeType = contentType == null ? "no Content-Type" : BodyScan.mimeType(contentType);
    if (mimeType.equalsIgnoreCase("text/event-stream")) {
      return Optional.empty(); // an error told as a stream is relayed as one: it may never end
    }
    boolean json = BodyScan.isJsonType(contentType);
    String coding = upstreamHeaders.get(HttpHeader.CONTENT_ENCODING);
    boolean coded = coding != null && !coding.equalsIgnoreCase("identity");
    if (json && coded) {
      return Optional.empty();
    }
    return Optional.of(new UpstreamErrorBody(status, coded ? mimeType + ", " + coding : mimeType, json, coded));
  }

  /**
   * Takes the next bytes of the body. Returns false when a JSON body has outgrown what is held: it is then to be
   * relayed unchecked, starting with {@link #held()}, which includes these bytes.
   */
  boolean hold(ByteBuffer chunk) {
    int n = chunk.remaining();
    seen += n;
    int keep = json ? n : coded ? 0 : Math.min(n, MAX_HELD_BYTES - length);
    if (length + keep > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(length + keep, Math.min(bytes.length * 2, MAX_HELD_BYTES)));
    }
    chunk.slice().get(bytes, length, keep);
    length += keep;
    return !json || length <= MAX_HELD_BYTES;
  }

  /** The body held so far. */
  ByteBuffer held() {
    return ByteBuffer.wrap(bytes, 0, length);
  }

  /**
   * Replaces every occurrence of {@code secret} in the held body with {@code ****}; returns whether there was one.
   * Inside a JSON string the replacement keeps the document valid.
   */
  boolean mask(String secret) {
    byte[] needle = secret.getBytes(StandardCharsets.UTF_8);
    if (needle.length == 0) {
      return false;
    }
    byte[] stars = "****".getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[length + (length / needle.length + 1) * stars.length];
    int written = 0;
    boolean found = false;
    for (int i = 0; i < length; ) {
      if (i + needle.length <= length && Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length)) {
        System.arraycopy(stars, 0, out, written, stars.length);
        written += stars.length;
        i += needle.length;
        found = true;
      } else {
        out[written++] = bytes[i++];
      }
    }
    if (found) {
      bytes = out;
      length = written;
    }
    return found;
  }

  /** Whether the whole body, now held, may go to the caller as the upstream sent it. */
  boolean relayable(JsonFactory factory) {
    return json && BodyScan.scan(factory, bytes, length).wellFormed();
  }

  /**
   * The error that replaces the body.
   *
   * @param upstream the upstream's host and port, for the message
   * @param sentCredentials the key or token sent upstream with the request, masked in the excerpt; null if none
   */
  OpenAiError replacement(String upstream, String sentCredentials) {
    String text = new String(bytes, 0, length, StandardCharsets.UTF_8);
    if (sentCredentials != null && !sentCredentials.isEmpty()) {
      text = text.replace(sentCredentials, "****");
    }
    text = CONTROL_OR_SPACE.matcher(text).replaceAll(" ").strip();
    String answered = "The upstream " + upstream + " answered " + status;
    if (seen == 0) {
      return error(answered + " with an empty body (" + describedType + ").");
    }
    if (text.isEmpty()) {
      return error(answered + " with a body that is not JSON (" + describedType + ").");
    }
    if (text.length() > EXCERPT_CHARS) {
      int cut = Character.isHighSurrogate(text.charAt(EXCERPT_CHARS - 1)) ? EXCERPT_CHARS - 1 : EXCERPT_CHARS;
      text = text.substring(0, cut) + "…";
    }
    return error(answered + " with a body that is not JSON (" + describedType + "): " + text);
  }

  private OpenAiError error(String message) {
    return new OpenAiError(status, "upstream_error", "upstream_non_json_error", message);
  }
}
