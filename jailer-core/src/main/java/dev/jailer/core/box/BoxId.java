package dev.jailer.core.box;

import dev.jailer.core.JailerException;
import java.util.regex.Pattern;

/**
 * Validation of box identifiers. A box id names a directory and a cgroup, so it is limited to
 * characters that are safe in both and cannot be mistaken for an option ({@code -x}) or a
 * hidden or relative path.
 */
public final class BoxId {
  /** Longest accepted box id; it also bounds the length of socket paths inside the box. */
  public static final int MAX_LENGTH = 64;

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

  private BoxId() {}

  /**
   * Returns {@code boxId} when it is 1-64 ASCII letters, digits, '-' and '_' not starting with
   * '-' or '_'.
   *
   * @throws JailerException INVALID_ARGUMENT on field {@code box_id} otherwise
   */
  public static String validate(String boxId) {
    if (boxId == null || boxId.isEmpty()) {
      throw JailerException.invalidArgument("box_id", "is required");
    }
    if (boxId.length() > MAX_LENGTH) {
      throw JailerException.invalidArgument(
          "box_id", "is " + boxId.length() + " characters long; at most " + MAX_LENGTH);
    }
    if (!VALID.matcher(boxId).matches()) {
      throw JailerException.invalidArgument(
          "box_id",
          "use only ASCII letters, digits, '-' and '_', and start with a letter or digit");
    }
    return boxId;
  }
}
