package dev.jailer.core.nativeaccess;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.jailer.core.sandbox.linux.ProcFs;
import dev.jailer.core.spawn.ExitWatcher;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Follows processes through pidfds (Linux 5.3+) gathered in one epoll set, waited on by one
 * thread: a pidfd turns readable when its process ends, whoever its parent is, and a pidfd
 * names one process for good, so a recycled pid can never be mistaken for it.
 */
final class PidfdExitWatcher implements ExitWatcher {
  private static final Logger logger = Logger.getLogger(PidfdExitWatcher.class.getName());
  private static final int EINTR = 4;
  private static final int ESRCH = 3;
  private static final int MAX_EVENTS = 64;

  // struct epoll_event is packed on x86_64 (12 bytes, data at offset 4) and naturally aligned
  // elsewhere (16 bytes, data at offset 8): see the EPOLL_PACKED note in sys/epoll.h.
  private static final boolean PACKED =
      System.getProperty("os.arch", "").toLowerCase(Locale.ROOT).matches("amd64|x86_64");
  private static final int EVENT_SIZE = PACKED ? 12 : 16;
  private static final int DATA_OFFSET = PACKED ? 4 : 8;

  private final LibC libc;
  private final int epfd;
  private final Map<Integer, CompletableFuture<Void>> waiting = new ConcurrentHashMap<>();

  /** @throws LastErrorException when the kernel has no pidfds or epoll fails */
  PidfdExitWatcher(LibC libc) {
    this.libc = libc;
    // Proves pidfd_open works here before anything relies on it.
    int self = (int) libc.syscall(LibC.SYS_PIDFD_OPEN, ProcessHandle.current().pid(), 0);
    libc.close(self);
    this.epfd = libc.epoll_create1(LibC.EPOLL_CLOEXEC);
    Thread thread = new Thread(this::run, "jailer-exit-watcher");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public CompletableFuture<Void> onExit(long pid, long startTime) {
    CompletableFuture<Void> exit = new CompletableFuture<>();
    int fd;
    try {
      // pidfds are always opened close-on-exec, so no shim inherits one.
      fd = (int) libc.syscall(LibC.SYS_PIDFD_OPEN, pid, 0);
    } catch (LastErrorException e) {
      if (e.getErrorCode() != ESRCH) {
        logger.log(Level.WARNING, "pidfd_open(" + pid + ") failed", e);
      }
      exit.complete(null);
      return exit;
    }
    // The pid might have been recycled before the pidfd was opened; the start time tells.
    if (!ProcFs.isSameProcess(pid, startTime)) {
      libc.close(fd);
      exit.complete(null);
      return exit;
    }
    waiting.put(fd, exit);
    try (Memory event = new Memory(EVENT_SIZE)) {
      event.clear();
      event.setInt(0, LibC.EPOLLIN);
      event.setLong(DATA_OFFSET, fd);
      libc.epoll_ctl(epfd, LibC.EPOLL_CTL_ADD, fd, event);
    } catch (LastErrorException e) {
      waiting.remove(fd);
      libc.close(fd);
      throw new IllegalStateException("epoll_ctl failed for pid " + pid, e);
    }
    return exit;
  }

  private void run() {
    try (Memory events = new Memory((long) EVENT_SIZE * MAX_EVENTS)) {
      while (true) {
        int ready;
        try {
          ready = libc.epoll_wait(epfd, events, MAX_EVENTS, -1);
        } catch (LastErrorException e) {
          if (e.getErrorCode() == EINTR) {
            continue;
          }
          logger.log(Level.SEVERE, "epoll_wait failed; box ends are no longer noticed", e);
          return;
        }
        for (int i = 0; i < ready; i++) {
          int fd = (int) events.getLong((long) i * EVENT_SIZE + DATA_OFFSET);
          CompletableFuture<Void> exit = waiting.remove(fd);
          try {
            libc.epoll_ctl(epfd, LibC.EPOLL_CTL_DEL, fd, null);
          } catch (LastErrorException e) {
            logger.fine(() -> "epoll_ctl DEL " + fd + ": " + e.getMessage());
          }
          libc.close(fd);
          if (exit != null) {
            exit.complete(null);
          }
        }
      }
    }
  }
}
