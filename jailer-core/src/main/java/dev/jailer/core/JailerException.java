package dev.jailer.core;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;

/**
 * The one exception type that jailer-core throws for a refusal or failure a caller should see.
 *
 * <p>Its {@link Kind} says what went wrong in terms a transport can map one to one (the server
 * maps each kind to a gRPC status code); its message says what to change. Where a request field
 * is at fault, {@link #violations()} names the field.
 */
public final class JailerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kind of failure this is. */
  public enum Kind {
    /** The request itself is malformed; repeating it unchanged fails again. */
    INVALID_ARGUMENT,
    /** The box (or another named thing) does not exist. */
    NOT_FOUND,
    /** The request names a path outside what the operator allowed. */
    PERMISSION_DENIED,
    /** The request is well formed but the box or the host is not in a state that allows it. */
    FAILED_PRECONDITION,
    /** The caller gave up or the server is shutting down while the call ran. */
    CANCELLED,
    /** A host operation failed unexpectedly (I/O error, a tool that crashed). */
    INTERNAL,
  }

  /** One request field at fault and what is wrong with it. */
  public record Violation(String field, String description) {
    public Violation {
      requireNonNull(field, "field");
      requireNonNull(description, "description");
    }
  }

  private final Kind kind;
  private final ImmutableList<Violation> violations;

  private JailerException(
      Kind kind, String message, Iterable<Violation> violations, Throwable cause) {
    super(requireNonNull(message, "message"), cause);
    this.kind = requireNonNull(kind, "kind");
    this.violations = ImmutableList.copyOf(violations);
  }

  /** A malformed request; {@code field} names the request field, as in the proto contract. */
  public static JailerException invalidArgument(String field, String description) {
    return new JailerException(
        Kind.INVALID_ARGUMENT,
        field + ": " + description,
        ImmutableList.of(new Violation(field, description)),
        null);
  }

  /** A malformed request with several faulty fields; the message joins their descriptions. */
  public static JailerException invalidArguments(Iterable<Violation> violations) {
    ImmutableList<Violation> all = ImmutableList.copyOf(violations);
    if (all.isEmpty()) {
      throw new IllegalArgumentException("at least one violation is required");
    }
    StringBuilder message = new StringBuilder();
    for (Violation v : all) {
      if (message.length() > 0) {
        message.append("; ");
      }
      message.append(v.field()).append(": ").append(v.description());
    }
    return new JailerException(Kind.INVALID_ARGUMENT, message.toString(), all, null);
  }

  /** A path outside the operator's allowed directories; {@code field} names the request field. */
  public static JailerException permissionDenied(String field, String description) {
    return new JailerException(
        Kind.PERMISSION_DENIED,
        field + ": " + description,
        ImmutableList.of(new Violation(field, description)),
        null);
  }

  /** The named box (or other thing) does not exist. */
  public static JailerException notFound(String message) {
    return new JailerException(Kind.NOT_FOUND, message, ImmutableList.of(), null);
  }

  /** The box or the host is not in a state that allows the call; the message says why. */
  public static JailerException failedPrecondition(String message) {
    return new JailerException(Kind.FAILED_PRECONDITION, message, ImmutableList.of(), null);
  }

  /** As {@link #failedPrecondition(String)}, keeping the underlying cause. */
  public static JailerException failedPrecondition(String message, Throwable cause) {
    return new JailerException(Kind.FAILED_PRECONDITION, message, ImmutableList.of(), cause);
  }

  /** The caller gave up, or the server stopped, while the call ran. */
  public static JailerException cancelled(String message) {
    return new JailerException(Kind.CANCELLED, message, ImmutableList.of(), null);
  }

  /** An unexpected host failure; the message names the operation and the cause. */
  public static JailerException internal(String message, Throwable cause) {
    return new JailerException(Kind.INTERNAL, message, ImmutableList.of(), cause);
  }

  /** What kind of failure this is. */
  public Kind kind() {
    return kind;
  }

  /** The request fields at fault; empty unless {@link #kind()} is INVALID_ARGUMENT or
   * PERMISSION_DENIED. */
  public ImmutableList<Violation> violations() {
    return violations;
  }
}
