package dev.sluice.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The options every load mode of {@link LoadGen} shares (a picocli mixin): where to send, what to send, and the
 * tags that go into the result line. Filled by picocli before the mode runs; not thread-safe, and needs not be.
 */
final class Target {
  static final String DEFAULT_BODY =
      "{\"model\":\"nvidia/x\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the benchmark.\"}]}";

  @Option(names = "--url", required = true, paramLabel = "URL", description = "The chat completions URL.")
  URI url;

  @Option(names = "--body", paramLabel = "JSON|FILE",
      description = "The request body: inline JSON (starts with '{') or a file; default a short chat request.")
  String body;

  @Option(names = "--tag", paramLabel = "KEY=VALUE",
      description = "Copied into the result line; may repeat (run.sh tags scenario, target and round).")
  Map<String, String> tags = new LinkedHashMap<>();

  /** The request body as bytes; the default chat request asks for a stream when {@code stream} is set. */
  byte[] body(boolean stream) throws IOException {
    String json;
    if (body == null) {
      json = stream ? DEFAULT_BODY.replaceFirst("\\{", "{\"stream\":true,") : DEFAULT_BODY;
    } else if (body.stripLeading().startsWith("{")) {
      json = body;
    } else {
      json = Files.readString(Path.of(body));
    }
    return json.getBytes(StandardCharsets.UTF_8);
  }
}
