package dev.sluice.cli;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;

/**
 * The upstream client's address resolver: an IP address needs no lookup and is answered on the calling thread;
 * a host name goes to {@code lookup}.
 *
 * <p>Jetty's asynchronous resolver executes every resolution on the pool, IP address or not, since a name lookup
 * may block. Each new upstream connection resolves once, so a burst of requests towards an upstream given by
 * address (a local model server, the built-in simulator) handed the pool one task per connection, and the pool
 * started a thread for each it could not take at once: 200 streams opened together started 6 to 13 threads.
 *
 * <p>Thread-safe: stateless.
 */
final class UpstreamResolver implements SocketAddressResolver {
  private final SocketAddressResolver lookup;

  /** @param lookup resolves host names; may block, so it should hand the work off */
  UpstreamResolver(SocketAddressResolver lookup) {
    this.lookup = lookup;
  }

  @Override
  public void resolve(String host, int port, Map<String, Object> context, Promise<List<InetSocketAddress>> promise) {
    InetAddress address;
    try {
      // Jetty passes an IPv6 address in brackets, as in a URI.
      address = InetAddress.ofLiteral(host.startsWith("[") && host.endsWith("]")
          ? host.substring(1, host.length() - 1) : host);
    } catch (IllegalArgumentException notAnAddress) {
      lookup.resolve(host, port, context, promise);
      return;
    }
    promise.succeeded(List.of(new InetSocketAddress(address, port)));
  }
}
