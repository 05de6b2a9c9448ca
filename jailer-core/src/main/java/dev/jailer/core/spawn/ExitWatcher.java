package dev.jailer.core.spawn;

import java.util.concurrent.CompletableFuture;

/**
 * Tells when processes that are not the server's children end. One watcher follows every box,
 * so the cost of a running box does not include a thread of its own.
 */
public interface ExitWatcher {
  /**
   * Completes when the process {@code pid} that started at {@code startTime} (see
   * {@code ProcFs.startTime}) has ended; at once when it is already gone or the pid now names
   * another process.
   */
  CompletableFuture<Void> onExit(long pid, long startTime);
}
