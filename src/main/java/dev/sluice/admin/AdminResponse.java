package dev.sluice.admin;

/**
 * A route's answer: a status and a body that Jackson writes as JSON (maps, lists, strings, numbers). Immutable.
 */
public record AdminResponse(int status, Object body) {

  public static AdminResponse ok(Object body) {
    return new AdminResponse(200, body);
  }
}
