package dev.sluice.observe;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One scrape in the classic text format, parsed: the {@code # TYPE} of each family and the value of each sample. */
final class Scrape {
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
  final String text;
  /** Family name to type, as the {@code # TYPE} lines say. */
  final Map<String, String> types = new TreeMap<>();
  /** {@code name{a="x",b="y"}} (labels sorted by name) to value. */
  final Map<String, Double> samples = new LinkedHashMap<>();
  final Set<String> sampleNames = new LinkedHashSet<>();
  final Set<String> labelNames = new LinkedHashSet<>();

  Scrape(String text) {
    this.text = text;
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        types.put(parts[2], parts[3]);
        continue;
      }
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches()) {
        throw new AssertionError("not a sample line: " + line);
      }
      Map<String, String> labels = new TreeMap<>();
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
          labelNames.add(l.group(1));
        }
      }
      sampleNames.add(m.group(1));
      samples.put(key(m.group(1), labels), Double.parseDouble(m.group(4)));
    }
  }

  /** The sample's value; {@code labels} as name, value pairs in any order. Fails if there is no such sample. */
  double value(String name, String... labels) {
    Map<String, String> sorted = new TreeMap<>();
    for (int i = 0; i < labels.length; i += 2) {
      sorted.put(labels[i], labels[i + 1]);
    }
    String key = key(name, sorted);
    Double value = samples.get(key);
    if (value == null) {
      throw new AssertionError("no sample " + key + " in:\n" + text);
    }
    return value;
  }

  /** The sum of every sample of {@code name}, whatever its labels; 0 when there is none. */
  double sum(String name) {
    return samples.entrySet().stream().filter(e -> e.getKey().equals(name) || e.getKey().startsWith(name + "{"))
        .mapToDouble(Map.Entry::getValue).sum();
  }

  private static String key(String name, Map<String, String> labels) {
    if (labels.isEmpty()) {
      return name;
    }
    StringBuilder key = new StringBuilder(name).append('{');
    labels.forEach((k, v) -> key.append(k).append("=\"").append(v).append("\","));
    key.setLength(key.length() - 1);
    return key.append('}').toString();
  }
}
