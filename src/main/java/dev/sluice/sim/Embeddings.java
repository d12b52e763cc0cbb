package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The body of an embeddings answer: one deterministic unit vector per input. Stateless. */
final class Embeddings {
  private static final int DIMENSIONS = 8;

  private Embeddings() {}

  /** One vector per string of {@code input} (a string, an array of strings, or token ids as one input). */
  static byte[] body(String model, JsonNode input, int promptTokens) {
    List<String> inputs = new ArrayList<>();
    if (input.isArray() && !input.isEmpty() && !input.get(0).isNumber()) {
      input.forEach(element -> inputs.add(element.isTextual() ? element.textValue() : element.toString()));
    } else {
      inputs.add(input.isTextual() ? input.textValue() : input.toString());
    }
    StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < inputs.size(); i++) {
      json.append(i == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(i)
          .append(",\"embedding\":[");
      float[] vector = vector(inputs.get(i));
      for (int d = 0; d < vector.length; d++) {
        json.append(d == 0 ? "" : ",").append(vector[d]);
      }
      json.append("]}");
    }
    json.append("],\"model\":").append(Generation.quote(model)).append(",\"usage\":{\"prompt_tokens\":")
        .append(promptTokens).append(",\"total_tokens\":").append(promptTokens).append("}}");
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A unit vector derived from an FNV-1a hash of the text: the same text always gives the same vector. */
  static float[] vector(String text) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      hash = (hash ^ (b & 0xff)) * 0x100000001b3L;
    }
    SplittableRandom random = new SplittableRandom(hash);
    double[] raw = new double[DIMENSIONS];
    double norm = 0;
    for (int i = 0; i < raw.length; i++) {
      raw[i] = random.nextDouble(-1.0, 1.0);
      norm += raw[i] * raw[i];
    }
    norm = Math.sqrt(norm);
    float[] vector = new float[raw.length];
    for (int i = 0; i < raw.length; i++) {
      vector[i] = (float) (Math.round(raw[i] / norm * 1e6) / 1e6);
    }
    return vector;
  }
}
