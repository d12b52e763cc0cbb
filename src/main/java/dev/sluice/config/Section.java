package dev.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A YAML mapping being read. Remembers its path for messages and which keys were read, so that {@link #finish()}
 * can reject the ones nobody asked for. The sections below one root also share the list of every key path asked
 * for, {@link #keysAsked()}: the keys the loader knows, as far as the file led it. Not thread-safe; used only while
 * loading.
 */
final class Section {
  private static final Pattern LIST_INDEX = Pattern.compile("\\[\\d+]");
  private final String path;
  private final JsonNode node;
  private final Set<String> read = new HashSet<>();
  private final Set<String> keysAsked;

  private Section(String path, JsonNode node, Set<String> keysAsked) {
    this.path = path;
    this.node = node;
    this.keysAsked = keysAsked;
  }

  static Section root(JsonNode node) {
    return new Section("", node, new TreeSet<>());
  }

  private Section child(String path, JsonNode node) {
    if (!node.isObject()) {
      throw new ConfigException(path, "expected a mapping, got " + describe(node));
    }
    return new Section(path, node, keysAsked);
  }

  /**
   * Every key path asked for so far anywhere under this section's root, present in the file or not, with list
   * indices left out: {@code pools[].backends[].rate_rpm}.
   */
  Set<String> keysAsked() {
    return Collections.unmodifiableSet(keysAsked);
  }

  String path(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  boolean has(String key) {
    JsonNode value = node.get(key);
    return value != null && !value.isNull();
  }

  /** Whether {@code key} is given with the value {@code null} (where {@link #has} says it is not given). */
  boolean isNull(String key) {
    JsonNode value = node.get(key);
    return value != null && value.isNull();
  }

  private Optional<JsonNode> take(String key) {
    read.add(key);
    keysAsked.add(LIST_INDEX.matcher(path(key)).replaceAll("[]"));
    JsonNode value = node.get(key);
    return value == null || value.isNull() ? Optional.empty() : Optional.of(value);
  }

  Optional<Section> section(String key) {
    return take(key).map(value -> child(path(key), value));
  }

  List<Section> sections(String key) {
    List<Section> result = new ArrayList<>();
    Optional<JsonNode> list = take(key);
    if (list.isEmpty()) {
      return result;
    }
    if (!list.get().isArray()) {
      throw new ConfigException(path(key), "expected a list, got " + describe(list.get()));
    }
    for (int i = 0; i < list.get().size(); i++) {
      result.add(child(path(key) + "[" + i + "]", list.get().get(i)));
    }
    return result;
  }

  Optional<List<String>> strings(String key) {
    Optional<JsonNode> list = take(key);
    if (list.isEmpty()) {
      return Optional.empty();
    }
    if (!list.get().isArray()) {
      throw new ConfigException(path(key), "expected a list of strings, got " + describe(list.get()));
    }
    List<String> result = new ArrayList<>();
    for (int i = 0; i < list.get().size(); i++) {
      JsonNode item = list.get().get(i);
      if (!item.isTextual() || item.asText().isBlank()) {
        throw new ConfigException(path(key) + "[" + i + "]", "expected a non-empty string, got " + describe(item));
      }
      result.add(item.asText());
    }
    return Optional.of(result);
  }

  /** A list of integers, each in {@code min..max}; a message names the item at fault by its index. */
  Optional<List<Integer>> ints(String key, int min, int max) {
    Optional<JsonNode> list = take(key);
    if (list.isEmpty()) {
      return Optional.empty();
    }
    if (!list.get().isArray()) {
      throw new ConfigException(path(key), "expected a list of integers in " + min + ".." + max + ", got "
          + describe(list.get()));
    }
    List<Integer> result = new ArrayList<>();
    for (int i = 0; i < list.get().size(); i++) {
      JsonNode item = list.get().get(i);
      String itemKey = path(key) + "[" + i + "]";
      if (!item.isIntegralNumber() || !item.canConvertToInt()) {
        throw new ConfigException(itemKey, describe(item) + " is not an integer in " + min + ".." + max);
      }
      result.add((int) Bounds.check(itemKey, item.asInt(), min, max));
    }
    return Optional.of(result);
  }

  Optional<String> string(String key) {
    return take(key).map(value -> {
      if (!value.isValueNode()) {
        throw new ConfigException(path(key), "expected a string, got " + describe(value));
      }
      String text = value.asText();
      if (text.isBlank()) {
        throw new ConfigException(path(key), "must not be empty");
      }
      return text;
    });
  }

  Optional<Long> longValue(String key, long min, long max) {
    return take(key).map(value -> {
      if (!value.isIntegralNumber() || !value.canConvertToLong()) {
        throw new ConfigException(path(key), describe(value) + " is not an integer in " + min + ".." + max);
      }
      return Bounds.check(path(key), value.asLong(), min, max);
    });
  }

  Optional<Integer> intValue(String key, int min, int max) {
    return longValue(key, min, max).map(Long::intValue);
  }

  Optional<Boolean> bool(String key) {
    return take(key).map(value -> {
      if (!value.isBoolean()) {
        throw new ConfigException(path(key), describe(value) + " is not a boolean (true or false)");
      }
      return value.asBoolean();
    });
  }

  /** Rejects every key that was not read, naming its full path. */
  void finish() {
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!read.contains(name)) {
        throw new ConfigException(path(name), "unknown key");
      }
    }
  }

  private static String describe(JsonNode node) {
    if (node.getNodeType() == JsonNodeType.OBJECT) {
      return "a mapping";
    }
    if (node.getNodeType() == JsonNodeType.ARRAY) {
      return "a list";
    }
    return node.toString();
  }
}
