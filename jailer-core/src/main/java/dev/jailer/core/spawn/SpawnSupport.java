package dev.jailer.core.spawn;

import dev.jailer.core.JailerException;
import dev.jailer.core.box.ExitRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Small pieces every {@link Spawner} needs while it starts and follows a shim. */
public final class SpawnSupport {
  private SpawnSupport() {}

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
