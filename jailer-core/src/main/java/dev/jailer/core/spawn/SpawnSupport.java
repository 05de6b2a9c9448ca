package dev.jailer.core.spawn;

import dev.jailer.core.JailerException;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.Usage;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Small pieces every {@link Spawner} needs while it starts and follows a shim. */
public final class SpawnSupport {
  /** SIGTERM, the polite stop the jailer sends first. */
  public static final int SIGTERM = 15;

  /** SIGKILL, sent to every process of a box once the grace period is over. */
  public static final int SIGKILL = 9;

  private SpawnSupport() {}

  /**
   * Starts a launch chain with nothing of the server's own: stdin is {@code /dev/null}, output
   * goes nowhere (the chain opens the box's logs itself), and the environment holds only
   * {@code PATH}, so a secret in the server's environment reaches no step of it.
   */
  public static Process startChain(List<String> argv, String path) throws IOException {
    ProcessBuilder builder =
        new ProcessBuilder(argv)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().clear();
    builder.environment().put("PATH", path);
    return builder.start();
  }

  /**
   * Stops a followed box: {@code sigterm} runs at once, {@code sigkill} when the box has not
   * ended within {@code grace}; returns the box's end.
   *
   * @throws JailerException INTERNAL when the box outlives SIGKILL by 30 s or following it
   *     failed, CANCELLED when interrupted
   */
  public static ExitRecord terminate(
      String boxId,
      CompletableFuture<ExitRecord> exit,
      Duration grace,
      Runnable sigterm,
      Runnable sigkill) {
    sigterm.run();
    try {
      return exit.get(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      sigkill.run();
      return awaitKilled(exit, boxId);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw JailerException.cancelled("interrupted while stopping box " + boxId);
    } catch (ExecutionException e) {
      throw JailerException.internal("following box " + boxId + " failed: " + e.getCause(), e);
    }
  }

  /**
   * How a shim ended, told from its exit status: a death by signal N shows as 128 + N, the same
   * as an exit with that status, so a signal is reported only when it is known to be one the
   * jailer sent ({@code sentSignal}) or the memory limit's SIGKILL.
   */
  public static ExitRecord ended(
      int exitCode, Integer sentSignal, boolean oomKilled, Usage usage) {
    int signal = 0;
    String message;
    if (oomKilled && exitCode == 128 + SIGKILL) {
      signal = SIGKILL;
      message = "killed by the memory limit (SIGKILL from the cgroup's OOM killer)";
    } else if (sentSignal != null && exitCode == 128 + sentSignal) {
      signal = sentSignal;
      message = "stopped by the jailer with signal " + sentSignal;
    } else if (exitCode > 128) {
      message = "exited with status " + exitCode + " (or was killed by signal "
          + (exitCode - 128) + "; the two are reported alike)";
    } else {
      message = "exited with status " + exitCode;
    }
    return new ExitRecord(exitCode, signal, oomKilled, usage, System.currentTimeMillis(), message);
  }

  /**
   * Waits for the end of a box that was just sent SIGKILL.
   *
   * @throws JailerException INTERNAL when it has not ended after 30 s, CANCELLED when
   *     interrupted
   */
  public static ExitRecord awaitKilled(CompletableFuture<ExitRecord> exit, String boxId) {
    try {
      return exit.get(30, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw JailerException.internal("box " + boxId + " did not end 30 s after SIGKILL", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw JailerException.cancelled("interrupted while stopping box " + boxId);
    } catch (ExecutionException e) {
      throw JailerException.internal("following box " + boxId + " failed: " + e.getCause(), e);
    }
  }

  /** The size of a file, or 0 when it cannot be read. */
  public static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Up to 64 KiB of a log file from {@code offset}, without following a symlink: what the
   * launch chain wrote there during one spawn.
   */
  public static String readFrom(Path file, long offset) {
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = channel.size();
      if (size <= offset) {
        return "";
      }
      ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(size - offset, 64 * 1024));
      channel.read(buffer, offset);
      return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** The last {@code max} characters of {@code text}, marked as cut when they are not all. */
  public static String tail(String text, int max) {
    return text.length() <= max ? text : "..." + text.substring(text.length() - max);
  }

  /** Waits up to 10 s for a process that was just killed. */
  public static void waitQuietly(Process process) {
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Sleeps between two polls.
   *
   * @throws JailerException CANCELLED when interrupted
   */
  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw JailerException.cancelled("interrupted");
    }
  }
}
