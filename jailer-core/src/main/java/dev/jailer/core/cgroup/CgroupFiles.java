package dev.jailer.core.cgroup;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/** Reads and writes cgroup control files. */
final class CgroupFiles {
  private CgroupFiles() {}

  /**
   * Writes {@code value} to an existing control file in one {@code write(2)}. Control files are
   * never created: on cgroupfs a missing file means the controller is not enabled there, and
   * creating a plain file in its place would hide that.
   */
  static void write(Path file, String value) throws IOException {
    byte[] bytes = value.getBytes(US_ASCII);
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      // cgroupfs parses each write(2) on its own, so the value must go in one call; a short
      // write of a few ASCII bytes does not happen there, and the loop only serves plain files.
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
    }
  }

  /** The file's text, or empty when it does not exist or cannot be read. */
  static Optional<String> read(Path file) {
    try {
      return Optional.of(Files.readString(file, US_ASCII));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** A file holding one number; 0 when missing, unreadable or not a number (e.g. "max"). */
  static long readLong(Path file) {
    return read(file).map(String::trim).map(CgroupFiles::parseLong).orElse(0L);
  }

  /** The value of a {@code key N} line of a flat-keyed file; 0 when missing. */
  static long readKeyed(Path file, String key) {
    for (String line : read(file).orElse("").split("\n")) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length == 2 && parts[0].equals(key)) {
        return parseLong(parts[1]);
      }
    }
    return 0;
  }

  /** The pids listed in a {@code cgroup.procs} file; empty when the file is gone. */
  static Set<Long> readPids(Path procsFile) {
    Set<Long> pids = new LinkedHashSet<>();
    for (String line : read(procsFile).orElse("").split("\n")) {
      String trimmed = line.trim();
      if (!trimmed.isEmpty()) {
        long pid = parseLong(trimmed);
        if (pid > 0) {
          pids.add(pid);
        }
      }
    }
    return pids;
  }

  /** The errno text of an I/O failure, e.g. "Permission denied" or "Invalid argument". */
  static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "No such file or directory";
    }
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      return fse.getReason();
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  private static long parseLong(String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
