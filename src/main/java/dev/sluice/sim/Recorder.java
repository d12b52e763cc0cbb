package dev.sluice.sim;

import java.util.ArrayDeque;
import java.util.List;

/** The last {@value #CAPACITY} requests, oldest first. Thread-safe: guarded by {@code this}. */
final class Recorder {
  static final int CAPACITY = 256;
  private final ArrayDeque<RecordedRequest> requests = new ArrayDeque<>(CAPACITY);

  synchronized void record(RecordedRequest request) {
    if (requests.size() == CAPACITY) {
      requests.removeFirst();
    }
    requests.addLast(request);
  }

  synchronized List<RecordedRequest> recent() {
    return List.copyOf(requests);
  }

  synchronized void clear() {
    requests.clear();
  }
}
