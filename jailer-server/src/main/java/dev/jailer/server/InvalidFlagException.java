package dev.jailer.server;

/**
 * A command-line flag is unknown, lacks its value, has a malformed value, or contradicts another
 * flag. The message is one line that names the flag; the server prints it and exits with
 * status 2.
 */
public final class InvalidFlagException extends Exception {
  private static final long serialVersionUID = 1L;

  /** An exception whose message is {@code message}, which must name the flag at fault. */
  public InvalidFlagException(String message) {
    super(message);
  }
}
