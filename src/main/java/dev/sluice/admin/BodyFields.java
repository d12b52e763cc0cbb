package dev.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The fields of a small JSON object body, such as {@code {"enabled": false, "fixed_limit": 4}}, read with
 * messages in the configuration's style: the field, the value and the legal range ({@code fixed_limit: 0 is outside
 * 1..100}), each a 400 {@code invalid_value} whose {@code param} names the field. A {@code null} value counts as
 * absent. Not thread-safe; one per request.
 */
final class BodyFields {
  private final JsonNode body;

  private BodyFields(JsonNode body) {
    this.body = body;
  }

  /** @throws AdminException 400 when the body is not JSON ({@code invalid_json}) or not an object */
  static BodyFields of(AdminRequest request) {
    JsonNode body = request.json();
    if (!body.isObject()) {
      throw new AdminException(400, "invalid_json", "The request body must be a JSON object, such as "
          + "{\"enabled\": true}.");
    }
    return new BodyFields(body);
  }

  /** The names of the fields present, in the body's order. */
  List<String> names() {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }

  Optional<Boolean> bool(String name) {
    return value(name).map(v -> {
      if (!v.isBoolean()) {
        throw invalid(name, v + " is not a boolean (true or false)");
      }
      return v.asBoolean();
    });
  }

  Optional<Integer> integer(String name, int min, int max) {
    return value(name).map(v -> {
      if (!v.isIntegralNumber() || !v.canConvertToInt()) {
        throw invalid(name, v + " is not an integer in " + min + ".." + max);
      }
      return checked(name, v.asInt(), min, max);
    });
  }

  /** {@code value} if within {@code min..max}, else a 400 naming {@code name}. */
  static int checked(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw invalid(name, value + " is outside " + min + ".." + max);
    }
    return value;
  }

  static AdminException invalid(String name, String problem) {
    return new AdminException(400, "invalid_value", name + ": " + problem, name);
  }

  private Optional<JsonNode> value(String name) {
    JsonNode v = body.get(name);
    return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
  }
}
