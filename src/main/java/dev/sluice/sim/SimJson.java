package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * {@link SimConfig} and {@link SimStats} as the snake_case JSON of the control endpoints, and a config patched
 * from such JSON. Stateless apart from the mapper it is given.
 */
final class SimJson {
  /** Not an option but a command {@code POST /sim/config} takes: refuse connections for this many seconds. */
  static final String REFUSE_CONNECTIONS_SECONDS = "refuse_connections_seconds";
  static final List<String> CONFIG_KEYS = List.of("rpm", "burst", "rate_algorithm", "max_concurrent", "tpm",
      "token_budget", "budget_window_seconds", "quota_status", "quota_retry_after", "quota_message", "rate_headers",
      "ttft_millis", "ttft_jitter_millis", "per_token_millis", "completion_tokens", "completion_mode", "error_rate",
      "error_status", "reset_rate", "stall_rate", "stall_millis", "seed", "models", "rejected_keys",
      REFUSE_CONNECTIONS_SECONDS);

  private final ObjectMapper mapper;

  SimJson(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  ObjectNode config(SimConfig c) {
    ObjectNode node = mapper.createObjectNode();
    node.put("rpm", c.rpm());
    node.put("burst", c.burst());
    node.put("effective_burst", c.effectiveBurst());
    node.put("rate_algorithm", c.rateAlgorithm().jsonName());
    node.put("max_concurrent", c.maxConcurrent());
    node.put("tpm", c.tpm());
    node.put("token_budget", c.tokenBudget());
    node.put("budget_window_seconds", c.budgetWindowSeconds());
    node.put("quota_status", c.quotaStatus());
    node.put("quota_retry_after", c.quotaRetryAfter());
    node.put("quota_message", c.quotaMessage());
    node.put("rate_headers", c.rateHeaders());
    node.put("ttft_millis", c.ttftMillis());
    node.put("ttft_jitter_millis", c.ttftJitterMillis());
    node.put("per_token_millis", c.perTokenMillis());
    node.put("completion_tokens", c.completionTokens());
    node.put("completion_mode", c.completionMode().jsonName());
    node.put("error_rate", c.errorRate());
    node.put("error_status", c.errorStatus());
    node.put("reset_rate", c.resetRate());
    node.put("stall_rate", c.stallRate());
    node.put("stall_millis", c.stallMillis());
    node.put("seed", c.seed());
    ArrayNode models = node.putArray("models");
    c.models().forEach(models::add);
    ArrayNode rejectedKeys = node.putArray("rejected_keys");
    KeyCheck.masked(c.rejectedKeys()).forEach(rejectedKeys::add);
    return node;
  }

  ObjectNode stats(SimStats s) {
    ObjectNode node = mapper.createObjectNode();
    node.put("accepted", s.accepted());
    node.put("rejected_429", s.rejected429());
    node.put("rejected_by_rate", s.rejectedByRate());
    node.put("rejected_by_concurrency", s.rejectedByConcurrency());
    node.put("rejected_by_tokens", s.rejectedByTokens());
    node.put("rejected_too_large", s.rejectedTooLarge());
    node.put("rejected_by_quota", s.rejectedByQuota());
    node.put("unauthorized", s.unauthorized());
    node.put("server_errors", s.serverErrors());
    node.put("resets", s.resets());
    node.put("stalls", s.stalls());
    node.put("client_disconnects", s.clientDisconnects());
    node.put("in_flight", s.inFlight());
    node.put("accepted_tokens", s.acceptedTokens());
    node.put("tokens_last_minute", s.tokensLastMinute());
    node.put("budget_window_tokens", s.budgetWindowTokens());
    return node;
  }

  /**
   * {@code base} with the fields {@code patch} names replaced.
   *
   * @throws IllegalArgumentException for a patch that is not an object, an unknown key, a value of the wrong type
   *     or out of range; the message names the key as {@code sim.<key>}
   */
  static SimConfig patch(SimConfig base, JsonNode patch) {
    if (patch == null || !patch.isObject()) {
      throw new IllegalArgumentException("sim config: expected a JSON object with any of " + CONFIG_KEYS);
    }
    SimConfig c = base;
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String key = field.getKey();
      JsonNode value = field.getValue();
      c = switch (key) {
        case "rpm" -> c.withRpm(intValue(key, value, SimConfig.MAX_RPM));
        case "burst" -> c.withBurst(intValue(key, value, SimConfig.MAX_RPM));
        case "rate_algorithm" -> c.withRateAlgorithm(RateAlgorithm.fromName(text(key, value)));
        case "max_concurrent" -> c.withMaxConcurrent(intValue(key, value, SimConfig.MAX_CONCURRENT));
        case "tpm" -> c.withTpm(intValue(key, value, SimConfig.MAX_TPM));
        case "token_budget" -> c.withTokenBudget(longValue(key, value));
        case "budget_window_seconds" -> c.withBudgetWindowSeconds(
            intValue(key, value, SimConfig.MIN_BUDGET_WINDOW_SECONDS, SimConfig.MAX_BUDGET_WINDOW_SECONDS));
        case "quota_status" -> c.withQuotaStatus(
            intValue(key, value, SimConfig.MIN_QUOTA_STATUS, SimConfig.MAX_QUOTA_STATUS));
        case "quota_retry_after" -> c.withQuotaRetryAfter(booleanValue(key, value));
        case "quota_message" -> c.withQuotaMessage(text(key, value));
        case "rate_headers" -> c.withRateHeaders(booleanValue(key, value));
        case "ttft_millis" -> c.withTtftMillis(longValue(key, value));
        case "ttft_jitter_millis" -> c.withTtftJitterMillis(longValue(key, value));
        case "per_token_millis" -> c.withPerTokenMillis(longValue(key, value));
        case "completion_tokens" -> c.withCompletionTokens(intValue(key, value, SimConfig.MAX_COMPLETION_TOKENS));
        case "completion_mode" -> c.withCompletionMode(CompletionMode.fromName(text(key, value)));
        case "error_rate" -> c.withErrorRate(doubleValue(key, value));
        case "error_status" -> c.withErrorStatus(intValue(key, value, SimConfig.MIN_ERROR_STATUS, SimConfig.MAX_ERROR_STATUS));
        case "reset_rate" -> c.withResetRate(doubleValue(key, value));
        case "stall_rate" -> c.withStallRate(doubleValue(key, value));
        case "stall_millis" -> c.withStallMillis(longValue(key, value));
        case "seed" -> c.withSeed(longValue(key, value));
        case "models" -> c.withModels(strings(key, value, "model ids"));
        case "rejected_keys" -> c.withRejectedKeys(strings(key, value, "API keys"));
        case "effective_burst" -> c; // read-only, echoed back by GET /sim/config
        case REFUSE_CONNECTIONS_SECONDS -> c; // a command, read by refuseConnectionsSeconds
        default -> throw new IllegalArgumentException("sim." + key + ": unknown option; known: "
            + String.join(", ", CONFIG_KEYS));
      };
    }
    return c;
  }

  /**
   * The {@code refuse_connections_seconds} of a {@code POST /sim/config} body, or 0 when it has none.
   *
   * @throws IllegalArgumentException for a value that is not a whole number in 1..86400
   */
  static long refuseConnectionsSeconds(JsonNode patch) {
    JsonNode value = patch == null ? null : patch.get(REFUSE_CONNECTIONS_SECONDS);
    if (value == null) {
      return 0;
    }
    long seconds = longValue(REFUSE_CONNECTIONS_SECONDS, value);
    if (seconds < 1 || seconds > SimServer.MAX_REFUSE_CONNECTIONS_SECONDS) {
      throw new IllegalArgumentException("sim." + REFUSE_CONNECTIONS_SECONDS + ": " + seconds + " is outside 1.."
          + SimServer.MAX_REFUSE_CONNECTIONS_SECONDS);
    }
    return seconds;
  }

  private static int intValue(String key, JsonNode value, int max) {
    return intValue(key, value, 0, max);
  }

  private static int intValue(String key, JsonNode value, int min, int max) {
    long v = longValue(key, value);
    if (v < min || v > max) {
      throw new IllegalArgumentException("sim." + key + ": " + v + " is outside " + min + ".." + max);
    }
    return (int) v;
  }

  private static long longValue(String key, JsonNode value) {
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw new IllegalArgumentException("sim." + key + ": " + value + " is not a whole number");
    }
    return value.longValue();
  }

  private static double doubleValue(String key, JsonNode value) {
    if (!value.isNumber()) {
      throw new IllegalArgumentException("sim." + key + ": " + value + " is not a number");
    }
    return value.doubleValue();
  }

  private static boolean booleanValue(String key, JsonNode value) {
    if (!value.isBoolean()) {
      throw new IllegalArgumentException("sim." + key + ": " + value + " is not true or false");
    }
    return value.booleanValue();
  }

  private static String text(String key, JsonNode value) {
    if (!value.isTextual()) {
      throw new IllegalArgumentException("sim." + key + ": " + value + " is not a string");
    }
    return value.textValue();
  }

  /** An array of strings; a message never repeats the value, which may hold API keys. */
  private static List<String> strings(String key, JsonNode value, String what) {
    if (!value.isArray()) {
      throw new IllegalArgumentException("sim." + key + ": expected an array of " + what);
    }
    List<String> strings = new ArrayList<>();
    for (JsonNode element : value) {
      if (!element.isTextual()) {
        throw new IllegalArgumentException("sim." + key + ": expected an array of " + what + ", each a string");
      }
      strings.add(element.textValue());
    }
    return strings;
  }
}
