package dev.jailer.client;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.List;

/**
 * A call to the jailer failed. Every blocking method of {@link JailerClient} throws it and every
 * future it returns fails with it.
 *
 * <p>It carries the failure's {@link ErrorCode}, the message the server gave, and the request
 * fields the server refused (from a {@code google.rpc.BadRequest} detail, empty when there was
 * none). The gRPC exception it was made from is its {@linkplain #getCause() cause}.
 */
public final class JailerClientException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final String serverMessage;
  private final ImmutableList<FieldViolation> fieldViolations;

  private JailerClientException(
      ErrorCode code,
      String serverMessage,
      ImmutableList<FieldViolation> fieldViolations,
      Throwable cause) {
    super(format(code, serverMessage, fieldViolations), cause);
    this.code = code;
    this.serverMessage = serverMessage;
    this.fieldViolations = fieldViolations;
  }

  /**
   * Translates a failed gRPC call. A {@link StatusRuntimeException} or {@link StatusException}
   * keeps its code, description and details; anything else (which only a bug in the client
   * itself could produce) becomes {@link ErrorCode#UNKNOWN}. Never returns null.
   */
  static JailerClientException from(Throwable failure) {
    requireNonNull(failure, "failure");
    if (failure instanceof JailerClientException) {
      return (JailerClientException) failure;
    }
    Status status = Status.fromThrowable(failure);
    String message = status.getDescription() == null ? "" : status.getDescription();
    return new JailerClientException(
        ErrorCode.of(status.getCode()), message, violationsOf(failure), failure);
  }

  private static ImmutableList<FieldViolation> violationsOf(Throwable failure) {
    com.google.rpc.Status details = StatusProto.fromThrowable(failure);
    if (details == null) {
      return ImmutableList.of();
    }
    ImmutableList.Builder<FieldViolation> violations = ImmutableList.builder();
    for (Any detail : details.getDetailsList()) {
      if (!detail.is(BadRequest.class)) {
        continue;
      }
      try {
        BadRequest badRequest = detail.unpack(BadRequest.class);
        for (BadRequest.FieldViolation v : badRequest.getFieldViolationsList()) {
          violations.add(new FieldViolation(v.getField(), v.getDescription()));
        }
      } catch (InvalidProtocolBufferException e) {
        // A detail that claims to be BadRequest but does not parse adds nothing; the code and
        // message still describe the failure.
        continue;
      }
    }
    return violations.build();
  }

  private static String format(
      ErrorCode code, String serverMessage, List<FieldViolation> violations) {
    StringBuilder text = new StringBuilder(code.name());
    if (!serverMessage.isEmpty()) {
      text.append(": ").append(serverMessage);
    }
    for (FieldViolation v : violations) {
      text.append("; ").append(v);
    }
    return text.toString();
  }

  /** Why the call failed. */
  public ErrorCode code() {
    return code;
  }

  /** The message the server (or the transport) gave, without the code; empty when none. */
  public String serverMessage() {
    return serverMessage;
  }

  /**
   * The request fields the server refused, in the order it listed them; empty when the failure
   * carried no {@code google.rpc.BadRequest} detail.
   */
  public List<FieldViolation> fieldViolations() {
    return fieldViolations;
  }
}
