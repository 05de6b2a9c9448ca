package dev.jailer.core.spawn;

import dev.jailer.core.sandbox.linux.ProcFs;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Follows processes by looking at {@code /proc} every 100 ms from one thread: the fallback for
 * kernels without pidfds (before Linux 5.3).
 */
public final class PollingExitWatcher implements ExitWatcher {
  private record Watched(long pid, long startTime) {}

  private final Map<Watched, CompletableFuture<Void>> waiting = new ConcurrentHashMap<>();

  public PollingExitWatcher() {
    ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "jailer-exit-poller");
      thread.setDaemon(true);
      return thread;
    });
    poller.scheduleWithFixedDelay(this::poll, 100, 100, TimeUnit.MILLISECONDS);
  }

  @Override
  public CompletableFuture<Void> onExit(long pid, long startTime) {
    Watched watched = new Watched(pid, startTime);
    CompletableFuture<Void> exit = waiting.computeIfAbsent(watched, w -> new CompletableFuture<>());
    if (!ProcFs.isSameProcess(pid, startTime)) {
      waiting.remove(watched);
      exit.complete(null);
    }
    return exit;
  }

  private void poll() {
    waiting.forEach((watched, exit) -> {
      if (!ProcFs.isSameProcess(watched.pid(), watched.startTime())) {
        waiting.remove(watched);
        exit.complete(null);
      }
    });
  }
}
