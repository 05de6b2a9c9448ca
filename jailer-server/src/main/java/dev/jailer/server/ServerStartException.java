package dev.jailer.server;

/**
 * The server cannot start as configured: a listener is refused by policy (plaintext TCP, an
 * unsafe socket directory, a socket held by a live server), or binding, or reading TLS material,
 * failed. The message says what is wrong and what the operator can do; the cause, if any, is
 * the underlying failure. Nothing the failed start bound is left listening.
 */
public final class ServerStartException extends Exception {
  private static final long serialVersionUID = 1L;

  /** An exception with an operator-facing {@code message}. */
  public ServerStartException(String message) {
    super(message);
  }

  /** An exception with an operator-facing {@code message} and the failure behind it. */
  public ServerStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
