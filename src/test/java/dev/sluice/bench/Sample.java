package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One reading of a JSON endpoint during a run (the sim's counters, Sluice's {@code /status}, ...), and the JSON-lines
 * file the bench drivers keep them in: one line {@code {"t_s":12.003,"data":{...}}} per reading, {@code "data":null}
 * when the read failed, and {@code "after_drain":true} on a reading taken once every answer was in.
 *
 * @param offsetNanos when it was read, from the run's start
 * @param body what was read; null when the read failed
 * @param afterDrain it was read once every answer was in (or given up), after the periodic readings
 */
record Sample(long offsetNanos, JsonNode body, boolean afterDrain) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String AFTER_DRAIN = "after_drain";

  Sample(long offsetNanos, JsonNode body) {
    this(offsetNanos, body, false);
  }

  /** Writes {@code samples}, one line each, in their order. */
  static void write(Path file, List<Sample> samples) throws IOException {
    StringBuilder text = new StringBuilder();
    for (Sample s : samples) {
      ObjectNode line = JSON.createObjectNode();
      line.put("t_s", Math.round(s.offsetNanos() / 1e6) / 1e3);
      if (s.afterDrain()) {
        line.put(AFTER_DRAIN, true);
      }
      line.set("data", s.body());
      text.append(JSON.writeValueAsString(line)).append('\n');
    }
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  /** Reads what {@link #write} wrote; an empty list when the file does not exist. Blank lines are skipped. */
  static List<Sample> read(Path file) throws IOException {
    List<Sample> samples = new ArrayList<>();
    for (String l : nonBlankLines(file)) {
      JsonNode line = JSON.readTree(l);
      JsonNode data = line.get("data");
      samples.add(new Sample((long) (line.path("t_s").asDouble() * 1e9), data == null || data.isNull() ? null : data,
          line.path(AFTER_DRAIN).asBoolean(false)));
    }
    return samples;
  }

  /** The file's lines that are not blank; an empty list when the file does not exist. */
  static List<String> nonBlankLines(Path file) throws IOException {
    return Files.exists(file) ? Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList() : List.of();
  }
}
