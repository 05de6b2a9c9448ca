package dev.jailer.bench;

import dev.jailer.v1.ListRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real server as a child process ({@code java -jar jailer-server.jar}), as an operator
 * runs it: its memory is its own and it can be killed with SIGKILL.
 */
final class ServerProcess implements AutoCloseable {
  private final List<String> command;
  private final Path socket;
  private final Path log;
  private final Path pidFile;
  private Process process;

  /**
   * @param jar the server's jar
   * @param stateDir its state directory; the socket is the default one inside it
   * @param flags further flags (shim directories, cgroup parent)
   * @param log where its stderr goes (appended)
   * @param pidFile where its pid is written, so that scripts/bench can end it after a crash
   */
  ServerProcess(Path jar, Path stateDir, List<String> flags, Path log, Path pidFile) {
    command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(jar.toString());
    command.add("--state-dir");
    command.add(stateDir.toString());
    command.addAll(flags);
    this.socket = stateDir.resolve("run/jailer.sock");
    this.log = log;
    this.pidFile = pidFile;
  }

  Path socket() {
    return socket;
  }

  long pid() {
    return process.pid();
  }

  /** Starts the process; returns at once. */
  void start() throws IOException {
    process = new ProcessBuilder(command)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    Files.writeString(pidFile, Long.toString(process.pid()));
  }

  /**
   * Waits until List over {@code rpc}'s socket answers with boxes that satisfy {@code ready}.
   *
   * @throws IllegalStateException when the server dies or does not get there within 120 s
   */
  void awaitList(Predicate<List<dev.jailer.v1.Box>> ready) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    Rpc rpc = null;
    try {
      while (true) {
        if (rpc == null && Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
          rpc = new Rpc(socket);
        }
        if (rpc != null) {
          try {
            if (ready.test(rpc.jailer(10).list(ListRequest.getDefaultInstance())
                .getBoxesList())) {
              return;
            }
          } catch (RuntimeException notYet) {
            // The socket file appears a moment before the server answers on it, and a killed
            // server leaves its stale socket behind. A channel that failed to connect waits
            // out gRPC's reconnect backoff (a second or more), which would be timed as the
            // server's; a fresh channel for the next attempt has none.
            rpc.close();
            rpc = null;
          }
        }
        if (!process.isAlive()) {
          throw new IllegalStateException("the server died; see " + log);
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the server did not get ready in 120 s; see " + log);
        }
        Thread.sleep(5);
      }
    } finally {
      if (rpc != null) {
        rpc.close();
      }
    }
  }

  /**
   * Milliseconds from {@code sinceMillis} (wall clock) to the last log line that contains
   * {@code text} and was written after it; -1 when there is none.
   */
  long logMillisAfter(long sinceMillis, String text) throws IOException {
    long found = -1;
    for (String line : Files.readAllLines(log)) {
      int space = line.indexOf(' ');
      if (space < 0 || !line.contains(text)) {
        continue;
      }
      try {
        long at = java.time.Instant.parse(line.substring(0, space)).toEpochMilli();
        if (at >= sinceMillis) {
          found = at - sinceMillis;
        }
      } catch (java.time.format.DateTimeParseException e) {
        // A continuation line of a stack trace.
      }
    }
    return found;
  }

  /** SIGKILL, as a crash or an OOM kill would end it; boxes keep running. */
  void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** SIGTERM: the server's orderly stop. */
  void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }

  /** Resident memory of the server process in bytes, from /proc/PID/status (VmRSS). */
  long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IOException("no VmRSS for pid " + pid());
  }

  /** Threads of the server process, from /proc/PID/status. */
  long threads() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
      if (line.startsWith("Threads:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  /** Bytes the server passed to write(2) and friends so far (/proc/PID/io, wchar). */
  long writtenBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "io"))) {
      if (line.startsWith("wchar:")) {
        return Long.parseLong(line.substring(6).trim());
      }
    }
    throw new IOException("no wchar for pid " + pid());
  }

  /** Bytes of Java heap in use, from {@code jcmd PID GC.heap_info}; -1 when not found. */
  long heapUsedBytes() throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), "GC.heap_info")
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    p.waitFor(60, TimeUnit.SECONDS);
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("heap\\s+total \\d+K, used (\\d+)K").matcher(output);
    return m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
  }

  /** A full GC in the server through {@code jcmd PID GC.run}. */
  void gc() throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), "GC.run")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("jcmd " + pid() + " GC.run failed");
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
