package dev.jailer.core.sandbox.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** Reads what the jailer needs to know about a process from {@code /proc}. */
public final class ProcFs {
  private ProcFs() {}

  /**
   * The process's start time in clock ticks since boot: field 22 of {@code /proc/<pid>/stat}.
   * Together with the pid it names one process for the life of the host, because a recycled
   * pid always has a later start time.
   */
  public static OptionalLong startTime(long pid) {
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return OptionalLong.empty();
    }
    // The command name (field 2) is in parentheses and may itself contain spaces and ')', so
    // the fields are counted from the last ')'.
    int end = stat.lastIndexOf(')');
    if (end < 0) {
      return OptionalLong.empty();
    }
    String[] fields = stat.substring(end + 2).split(" ");
    // fields[0] is field 3 (state); field 22 is at index 19.
    if (fields.length < 20) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(fields[19]));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** True when {@code pid} runs and is the process that started at {@code startTime}. */
  public static boolean isSameProcess(long pid, long startTime) {
    if (pid <= 0) {
      return false;
    }
    OptionalLong now = startTime(pid);
    return now.isPresent() && now.getAsLong() == startTime && !isZombie(pid);
  }

  private static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      int end = stat.lastIndexOf(')');
      return end >= 0 && stat.length() > end + 2 && stat.charAt(end + 2) == 'Z';
    } catch (IOException e) {
      return true;
    }
  }

  /** The direct children of {@code pid}'s main thread (Linux 3.5+ with CONFIG_PROC_CHILDREN). */
  public static List<Long> children(long pid) {
    List<Long> children = new ArrayList<>();
    try {
      String text =
          Files.readString(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid),
              "children"));
      for (String token : text.trim().split("\\s+")) {
        if (!token.isEmpty()) {
          children.add(Long.parseLong(token));
        }
      }
    } catch (IOException | NumberFormatException e) {
      // The process is gone or not ours to read: no children known.
    }
    return children;
  }

  /** The executable of {@code pid} as its mount namespace names it. */
  public static Optional<String> exe(long pid) {
    try {
      return Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe"))
          .toString());
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.empty();
    }
  }
}
