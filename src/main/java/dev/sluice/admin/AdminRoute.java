package dev.sluice.admin;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * One admin endpoint: a method, a path pattern under {@code /api/admin/} whose {@code {name}} segments match any
 * one segment (e.g. {@code /api/admin/backends/{id}}), and what answers it. The {@link AdminHandler} does
 * authentication, routing, body reading and error rendering, so an endpoint is only this function. Immutable.
 *
 * <p>A route may instead be a refusal ({@link #notAllowed}): a method the API knows of on that path but does not
 * offer (yet), answered 405 with its reason and the {@code Allow} header of the path's other routes.
 *
 * @param method the HTTP method, upper case
 * @param pattern the path pattern
 * @param action answers the request, or throws {@link AdminException}
 * @param refusal why the method is not offered, for a refusal; empty for an endpoint
 */
public record AdminRoute(String method, String pattern, Function<AdminRequest, AdminResponse> action,
    Optional<String> refusal) {

  public AdminRoute {
    if (!pattern.startsWith(AdminHandler.PREFIX)) {
      throw new IllegalArgumentException("an admin route lives under " + AdminHandler.PREFIX + ": " + pattern);
    }
  }

  public AdminRoute(String method, String pattern, Function<AdminRequest, AdminResponse> action) {
    this(method, pattern, action, Optional.empty());
  }

  public static AdminRoute get(String pattern, Function<AdminRequest, AdminResponse> action) {
    return new AdminRoute("GET", pattern, action);
  }

  public static AdminRoute post(String pattern, Function<AdminRequest, AdminResponse> action) {
    return new AdminRoute("POST", pattern, action);
  }

  public static AdminRoute patch(String pattern, Function<AdminRequest, AdminResponse> action) {
    return new AdminRoute("PATCH", pattern, action);
  }

  public static AdminRoute delete(String pattern, Function<AdminRequest, AdminResponse> action) {
    return new AdminRoute("DELETE", pattern, action);
  }

  /** A method known on {@code pattern} but not offered: 405, {@code why} as the message. */
  public static AdminRoute notAllowed(String method, String pattern, String why) {
    return new AdminRoute(method, pattern, request -> {
      throw new IllegalStateException("a refusal is answered by the handler");
    }, Optional.of(why));
  }

  /** The values of the {@code {name}} segments if {@code path} matches the pattern. */
  Optional<Map<String, String>> match(String path) {
    List<String> want = List.of(pattern.split("/", -1));
    List<String> got = List.of(path.split("/", -1));
    if (want.size() != got.size()) {
      return Optional.empty();
    }
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < want.size(); i++) {
      String w = want.get(i);
      if (w.startsWith("{") && w.endsWith("}") && !got.get(i).isEmpty()) {
        params.put(w.substring(1, w.length() - 1), got.get(i));
      } else if (!w.equals(got.get(i))) {
        return Optional.empty();
      }
    }
    return Optional.of(params);
  }
}
