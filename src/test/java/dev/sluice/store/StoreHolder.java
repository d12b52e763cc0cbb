package dev.sluice.store;

import dev.sluice.backend.SavedState;
import dev.sluice.backend.StateStore;
import dev.sluice.backend.UsageMinute;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Another process holding a store: opens the file named by the first argument, writes one backend's state and
 * usage, prints {@code ready}, and keeps the store open until its standard input ends (or it is killed).
 */
final class StoreHolder {
  static final SavedState STATE = new SavedState("nv-1", Optional.empty(), 3, 1_700_000_000_000L, true, 7,
      "RETREAT", 30, true, 1_700_000_060_000L, "quota exceeded", 1_700_000_030_000L, 330_000L);
  static final Map<String, List<UsageMinute>> USAGE =
      Map.of("nv-1", List.of(new UsageMinute(28_333_333, 1_200), new UsageMinute(28_333_334, 800)));

  private StoreHolder() {}

  public static void main(String[] args) throws IOException {
    try (StateStore store = SqliteStateStore.open(Path.of(args[0]))) {
      store.write(List.of(STATE), USAGE, 0);
      System.out.println("ready");
      System.out.flush();
      while (System.in.read() >= 0) {
        // Holds the store until the parent closes our input.
      }
    }
  }
}
