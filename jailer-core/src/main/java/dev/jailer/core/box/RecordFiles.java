package dev.jailer.core.box;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.jailer.core.JailerException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and writes the jailer's JSON records in a box's {@code jailer/} directory.
 *
 * <p>Writes are atomic: the record goes to a new temporary file (created exclusively, never
 * through a symlink), is flushed to disk, and is renamed over the old one, so a crash leaves
 * either the old or the new record, never a torn one.
 */
public final class RecordFiles {
  /** Prefix of every temporary file the jailer writes; recovery deletes leftovers by it. */
  public static final String TEMP_PREFIX = ".jailer-tmp-";

  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private RecordFiles() {}

  /** Serialises {@code record} as JSON and atomically replaces {@code file} with it. */
  public static void write(Path file, Object record) {
    writeBytes(file, GSON.toJson(record).getBytes(StandardCharsets.UTF_8));
  }

  /** Atomically replaces {@code file} with {@code bytes}. */
  public static void writeBytes(Path file, byte[] bytes) {
    Path tmp = tempSibling(file);
    try {
      try (FileChannel out =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE_NEW,
              StandardOpenOption.WRITE,
              LinkOption.NOFOLLOW_LINKS)) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
          out.write(buffer);
        }
        out.force(true);
      }
      moveAtomically(tmp, file);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw JailerException.internal("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Reads a record; empty when the file does not exist. */
  public static <T> Optional<T> read(Path file, Class<T> type) {
    byte[] bytes;
    try {
      bytes = readNoFollow(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw JailerException.internal("cannot read " + file + ": " + e.getMessage(), e);
    }
    try {
      return Optional.ofNullable(GSON.fromJson(new String(bytes, StandardCharsets.UTF_8), type));
    } catch (JsonParseException e) {
      throw JailerException.internal("corrupt record " + file + ": " + e.getMessage(), e);
    }
  }

  /** Reads a whole file without following a symlink at its last component. */
  public static byte[] readNoFollow(Path file) throws IOException {
    try (FileChannel in =
        FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = in.size();
      ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(size, Integer.MAX_VALUE - 16));
      while (buffer.hasRemaining() && in.read(buffer) > 0) {
        // keep reading until the file's size at open time is reached
      }
      return java.util.Arrays.copyOf(buffer.array(), buffer.position());
    }
  }

  /** A fresh, unused temporary name beside {@code file}. */
  public static Path tempSibling(Path file) {
    return file.resolveSibling(
        TEMP_PREFIX
            + file.getFileName()
            + "-"
            + Long.toHexString(ThreadLocalRandom.current().nextLong()));
  }

  /**
   * Renames {@code from} over {@code to}. A rename replaces whatever entry {@code to} was (a
   * symlink or another hard link included) without following or writing through it.
   */
  public static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("the file system cannot rename atomically: " + to, e);
    }
  }

  static void deleteQuietly(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException ignored) {
      // Best effort: a leftover temporary file is removed by recovery at the next start.
    }
  }
}
