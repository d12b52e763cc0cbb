package dev.sluice.admin;

import java.util.Optional;

/**
 * An admin request Sluice refuses, answered as an OpenAI-shaped error:
 * {@code {"error":{"message","type","code","param"}}}, {@code param} only when the refusal is about one field.
 * The message is written for the operator and never carries a secret.
 */
public final class AdminException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;
  private final String param;

  /**
   * @param status HTTP status, 4xx
   * @param code machine-readable code, e.g. {@code invalid_config}
   * @param param the field the refusal is about, as a path in the request body, or null
   */
  public AdminException(int status, String code, String message, String param) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.param = param;
  }

  public AdminException(int status, String code, String message) {
    this(status, code, message, null);
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public Optional<String> param() {
    return Optional.ofNullable(param);
  }

  /** OpenAI's error type for this status. */
  String type() {
    return switch (status) {
      case 401, 403 -> "authentication_error";
      default -> status >= 500 ? "server_error" : "invalid_request_error";
    };
  }
}
