package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.util.Promise;
import org.junit.jupiter.api.Test;

class UpstreamResolverTest {
  private final List<String> lookedUp = new ArrayList<>();
  private final UpstreamResolver resolver =
      new UpstreamResolver((host, port, context, promise) -> lookedUp.add(host + ":" + port));

  @Test
  void resolve_ipv4Address_answersBeforeReturningWithoutLookup() {
    Promise.Completable<List<InetSocketAddress>> result = resolve("127.0.0.1", 8000);

    assertThat(result).isCompletedWithValue(List.of(new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 8000)));
    assertThat(lookedUp).isEmpty();
  }

  @Test
  void resolve_bracketedIpv6Address_answersBeforeReturningWithoutLookup() {
    Promise.Completable<List<InetSocketAddress>> result = resolve("[::1]", 443);

    assertThat(result).isCompletedWithValue(List.of(new InetSocketAddress(InetAddress.ofLiteral("::1"), 443)));
    assertThat(lookedUp).isEmpty();
  }

  @Test
  void resolve_hostName_goesToTheLookup() {
    Promise.Completable<List<InetSocketAddress>> result = resolve("integrate.api.nvidia.com", 443);

    assertThat(lookedUp).containsExactly("integrate.api.nvidia.com:443");
    assertThat(result).isNotDone();
  }

  private Promise.Completable<List<InetSocketAddress>> resolve(String host, int port) {
    Promise.Completable<List<InetSocketAddress>> result = new Promise.Completable<>();
    resolver.resolve(host, port, Map.of(), result);
    return result;
  }
}
