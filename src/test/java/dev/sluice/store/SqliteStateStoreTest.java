package dev.sluice.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.backend.OutOfService;
import dev.sluice.backend.SavedState;
import dev.sluice.backend.StateStore;
import dev.sluice.backend.UsageMinute;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStateStoreTest {
  @TempDir
  Path dir;

  private final List<StateStore> opened = new ArrayList<>();

  @AfterEach
  void closeStores() {
    opened.forEach(StateStore::close);
  }

  private StateStore open(Path file) {
    StateStore store = SqliteStateStore.open(file);
    opened.add(store);
    return store;
  }

  private Path file() {
    return dir.resolve("data").resolve("sluice.db");
  }

  /** A state whose every field differs from the defaults and from other seeds' states. */
  private static SavedState state(String id, int seed, Optional<OutOfService> outOfService) {
    return new SavedState(id, outOfService, seed + 1, 1_700_000_000_000L + seed, seed % 2 == 0, 10 + seed,
        seed % 3 == 0 ? "RETREAT" : "RECOVER", 40 + seed, seed % 2 == 1, 1_700_000_100_000L + seed,
        "quota exceeded for key " + seed + " (\"tokens\" \u2013 5 h)", 1_700_000_200_000L + seed, 300_000L + seed);
  }

  private static Map<String, SavedState> byId(SavedState... states) {
    Map<String, SavedState> map = new LinkedHashMap<>();
    for (SavedState state : states) {
      map.put(state.backendId(), state);
    }
    return map;
  }

  @Test
  void everyFieldOfEveryStateComesBack() {
    StateStore store = open(file());
    SavedState dead = state("nv-1", 1, Optional.of(new OutOfService(false, 1_700_000_300_000L, 401)));
    SavedState disabled = state("nv-2", 2, Optional.of(new OutOfService(true, 1_700_000_400_000L, 0)));
    SavedState inService = state("openai-1", 3, Optional.empty());

    store.write(List.of(dead, disabled, inService), Map.of(), 0);

    assertThat(store.states()).isEqualTo(byId(dead, disabled, inService));
  }

  @Test
  void aStateReplacesTheOneSavedForItsBackend() {
    StateStore store = open(file());
    store.write(List.of(state("nv-1", 1, Optional.of(new OutOfService(false, 5, 403)))), Map.of(), 0);
    SavedState later = state("nv-1", 8, Optional.empty());

    store.write(List.of(later), Map.of(), 0);

    assertThat(store.states()).containsExactly(Map.entry("nv-1", later));
  }

  @Test
  void aBackendLeftOutOfAWriteKeepsItsSavedState() {
    StateStore store = open(file());
    SavedState first = state("nv-1", 1, Optional.empty());
    store.write(List.of(first), Map.of(), 0);

    store.write(List.of(state("nv-2", 2, Optional.empty())), Map.of(), 0);

    assertThat(store.states()).containsEntry("nv-1", first).hasSize(2);
  }

  @Test
  void aMinuteWrittenTwiceHoldsTheLaterCountNotTheSum() {
    StateStore store = open(file());
    store.write(List.of(), Map.of("nv-1", List.of(new UsageMinute(100, 500), new UsageMinute(101, 20))), 0);

    store.write(List.of(), Map.of("nv-1", List.of(new UsageMinute(101, 700))), 0);

    assertThat(store.usageSince(0)).isEqualTo(Map.of("nv-1", List.of(new UsageMinute(100, 500),
        new UsageMinute(101, 700))));
  }

  @Test
  void pruningDeletesEveryMinuteBeforeTheBoundAndKeepsTheRest() {
    StateStore store = open(file());
    store.write(List.of(), Map.of("nv-1", List.of(new UsageMinute(10, 1), new UsageMinute(11, 2)),
        "nv-2", List.of(new UsageMinute(9, 3), new UsageMinute(12, 4))), 0);

    // Minute 11 of this very write is before the bound as well.
    store.write(List.of(), Map.of("nv-2", List.of(new UsageMinute(11, 5), new UsageMinute(13, 6))), 12);

    assertThat(store.usageSince(0)).isEqualTo(Map.of("nv-2", List.of(new UsageMinute(12, 4),
        new UsageMinute(13, 6))));
  }

  @Test
  void usageSinceReturnsTheMinutesFromTheBoundOnOldestFirst() {
    StateStore store = open(file());
    store.write(List.of(), Map.of(
        "nv-1", List.of(new UsageMinute(13, 30), new UsageMinute(10, 0), new UsageMinute(12, 20),
            new UsageMinute(11, 10)),
        "nv-2", List.of(new UsageMinute(10, 7))), 0);

    assertThat(store.usageSince(11)).isEqualTo(Map.of("nv-1", List.of(new UsageMinute(11, 10),
        new UsageMinute(12, 20), new UsageMinute(13, 30))));
    assertThat(store.usageSince(14)).isEmpty();
  }

  @Test
  void oneWriteCarriesManyBackends() {
    StateStore store = open(file());
    List<SavedState> states = IntStream.range(0, 500)
        .mapToObj(i -> state("backend-" + i, i, Optional.empty())).toList();
    Map<String, List<UsageMinute>> usage = new LinkedHashMap<>();
    states.forEach(s -> usage.put(s.backendId(), List.of(new UsageMinute(1_000, 1), new UsageMinute(1_001, 2),
        new UsageMinute(1_002, 3))));

    store.write(states, usage, 0);

    assertThat(store.states()).hasSize(500).containsEntry("backend-499", states.get(499));
    assertThat(store.usageSince(1_001)).hasSize(500)
        .containsEntry("backend-0", List.of(new UsageMinute(1_001, 2), new UsageMinute(1_002, 3)));
  }

  @Test
  void aReopenedStoreHoldsEverythingWrittenBeforeItClosed() {
    StateStore store = SqliteStateStore.open(file());
    SavedState dead = state("nv-1", 1, Optional.of(new OutOfService(false, 1_700_000_300_000L, 401)));
    SavedState inService = state("nv-2", 2, Optional.empty());
    Map<String, List<UsageMinute>> usage = Map.of("nv-1", List.of(new UsageMinute(5, 50), new UsageMinute(6, 60)));
    store.write(List.of(dead, inService), usage, 0);
    store.close();

    StateStore reopened = open(file());

    assertThat(reopened.states()).isEqualTo(byId(dead, inService));
    assertThat(reopened.usageSince(0)).isEqualTo(usage);
  }

  @Test
  void theFileIsInWriteAheadLogMode() throws IOException {
    open(file()).close();

    // Bytes 18 and 19 of a SQLite file's header are 2 in WAL mode (1 with a rollback journal).
    byte[] header = Files.readAllBytes(file());
    assertThat(new byte[] {header[18], header[19]}).containsExactly(2, 2);
  }

  @Test
  void theStoreCreatesItsMissingDirectories() {
    Path nested = dir.resolve("a").resolve("b").resolve("sluice.db");

    open(nested).write(List.of(state("nv-1", 1, Optional.empty())), Map.of(), 0);

    assertThat(nested).isRegularFile();
  }

  @Test
  void anInMemoryStoreWorksAndKeepsNothingAfterItCloses() {
    StateStore store = SqliteStateStore.open(Path.of(SqliteStateStore.IN_MEMORY));
    SavedState saved = state("nv-1", 1, Optional.empty());
    store.write(List.of(saved), Map.of("nv-1", List.of(new UsageMinute(1, 2))), 0);
    assertThat(store.states()).containsExactly(Map.entry("nv-1", saved));
    assertThat(store.usageSince(0)).containsExactly(Map.entry("nv-1", List.of(new UsageMinute(1, 2))));
    store.close();

    StateStore again = open(Path.of(":memory:"));
    StateStore another = SqliteStateStore.inMemory();
    opened.add(another);

    assertThat(again.states()).isEmpty();
    assertThat(another.usageSince(0)).isEmpty();
    assertThat(Path.of(":memory:")).doesNotExist();
  }

  @Test
  void aSecondCloseIsHarmlessAndAClosedStoreRefusesWork() {
    StateStore store = SqliteStateStore.open(file());
    store.close();
    store.close();

    assertThatThrownBy(store::states).isInstanceOf(IllegalStateException.class)
        .hasMessage("SqliteStateStore[file=" + file() + ", closed] is closed");
  }
}
