package dev.jailer.core.sandbox.linux;

import dev.jailer.core.BoxUsers;
import dev.jailer.core.JailerException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Turns the operator's box user setting into a uid and gid for each box, and refuses root.
 *
 * <p>With a fixed user every box runs as it. With a range each box gets a uid of its own (and
 * the group with the same number), kept for the life of the box, so that boxes cannot signal or
 * read each other.
 */
public final class BoxUserResolver {
  /** A host identity. */
  public record Identity(int uid, int gid) {}

  private final BoxUsers users;
  private final Identity fixed;
  private final Map<String, Integer> uidByBox = new ConcurrentHashMap<>();
  private final Map<Integer, String> boxByUid = new ConcurrentHashMap<>();

  /**
   * @throws JailerException FAILED_PRECONDITION when the fixed user does not exist or is root
   */
  public BoxUserResolver(BoxUsers users) {
    this.users = users;
    this.fixed = users.isRange() ? null : lookUp(users.user());
    if (fixed != null && (fixed.uid() == 0 || fixed.gid() == 0)) {
      throw JailerException.failedPrecondition(
          "the box user " + users.user() + " is root (uid or gid 0); a shim must never run as "
              + "host root. Pass --box-user with an unprivileged user");
    }
  }

  /** Remembers a uid recorded by an earlier spawn, so that a restart keeps the allocation. */
  public void remember(String boxId, int uid) {
    if (users.isRange() && uid >= users.firstUid() && uid <= users.lastUid()) {
      uidByBox.put(boxId, uid);
      boxByUid.put(uid, boxId);
    }
  }

  /** Frees the uid of a removed box. */
  public void forget(String boxId) {
    Integer uid = uidByBox.remove(boxId);
    if (uid != null) {
      boxByUid.remove(uid, boxId);
    }
  }

  /**
   * The identity of {@code boxId}.
   *
   * @throws JailerException FAILED_PRECONDITION when every uid of the range is taken
   */
  public synchronized Identity identityOf(String boxId) {
    if (!users.isRange()) {
      return fixed;
    }
    Integer known = uidByBox.get(boxId);
    if (known != null) {
      return new Identity(known, known);
    }
    for (int uid = users.firstUid(); uid <= users.lastUid(); uid++) {
      if (!boxByUid.containsKey(uid)) {
        remember(boxId, uid);
        return new Identity(uid, uid);
      }
    }
    throw JailerException.failedPrecondition(
        "every uid of the box range " + users.firstUid() + "-" + users.lastUid()
            + " is taken; remove boxes or widen --box-uid-range");
  }

  /** The uid of the server process itself. */
  public static int serverUid() {
    try {
      return (Integer) java.nio.file.Files.getAttribute(
          java.nio.file.Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException e) {
      return -1;
    }
  }

  /**
   * Resolves a user name (through the host's name service, as {@code getent} does) or a
   * numeric uid; the group is the user's primary group.
   */
  static Identity lookUp(String user) {
    if (user.chars().allMatch(Character::isDigit)) {
      int uid = Integer.parseInt(user);
      return new Identity(uid, uid);
    }
    String line = getent("passwd", user);
    String[] fields = line.split(":");
    if (fields.length < 4) {
      throw JailerException.failedPrecondition(
          "the box user " + user + " does not exist on this host; create it (useradd --system "
              + user + ") or pass --box-user with an existing unprivileged user");
    }
    return new Identity(Integer.parseInt(fields[2]), Integer.parseInt(fields[3]));
  }

  /** The gid of a group name, if the host has it. */
  static OptionalInt groupId(String group) {
    String[] fields = getent("group", group).split(":");
    if (fields.length < 3) {
      return OptionalInt.empty();
    }
    return OptionalInt.of(Integer.parseInt(fields[2]));
  }

  private static String getent(String database, String key) {
    try {
      Process process =
          new ProcessBuilder("getent", database, key)
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
        return "";
      }
      return new String(out, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
