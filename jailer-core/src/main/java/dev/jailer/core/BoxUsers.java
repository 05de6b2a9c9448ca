package dev.jailer.core;

import static java.util.Objects.requireNonNull;

/**
 * Which unprivileged host user a box's shim runs as: one fixed user for every box, or one uid
 * per box from a range (like Firecracker's {@code --uid}), so that boxes cannot signal or read
 * each other's processes.
 *
 * @param user the fixed user name or numeric uid; empty when a range is used
 * @param firstUid first uid of the range (inclusive); 0 when a fixed user is used
 * @param lastUid last uid of the range (inclusive)
 */
public record BoxUsers(String user, int firstUid, int lastUid) {
  public BoxUsers {
    requireNonNull(user, "user");
    if (user.isEmpty() && (firstUid <= 0 || lastUid < firstUid)) {
      throw new IllegalArgumentException(
          "a uid range needs 0 < first <= last, got " + firstUid + "-" + lastUid);
    }
  }

  /** Every box runs as {@code user} (a name or a numeric uid). */
  public static BoxUsers fixed(String user) {
    if (user.isEmpty()) {
      throw new IllegalArgumentException("box user must not be empty");
    }
    return new BoxUsers(user, 0, 0);
  }

  /** Each box gets a uid of its own from {@code firstUid..lastUid}, with the same gid. */
  public static BoxUsers range(int firstUid, int lastUid) {
    return new BoxUsers("", firstUid, lastUid);
  }

  /** Whether boxes get uids from a range rather than one fixed user. */
  public boolean isRange() {
    return user.isEmpty();
  }
}
