package dev.jailer.server;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import dev.jailer.core.JailerException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one place where failures become gRPC statuses.
 *
 * <p>A {@link JailerException} maps by its kind (the mapping follows the canonical code
 * definitions in {@code google/rpc/code.proto}); its field violations travel as a
 * {@code google.rpc.BadRequest} detail and its kind as a {@code google.rpc.ErrorInfo} reason, so
 * callers can branch without parsing messages. A status that is already a gRPC status is kept.
 * Anything else is a bug or an unexpected host failure: INTERNAL, logged with its stack.
 */
public final class StatusMapper {
  private static final Logger logger = Logger.getLogger(StatusMapper.class.getName());

  /** The {@code ErrorInfo.domain} of every error this server produces. */
  public static final String ERROR_DOMAIN = "jailer.dev";

  private StatusMapper() {}

  /** Converts any failure of a handler into the exception to pass to {@code onError}. */
  public static StatusRuntimeException toStatusException(Throwable failure) {
    if (failure instanceof StatusRuntimeException e) {
      return e;
    }
    if (failure instanceof StatusException e) {
      return e.getStatus().withCause(e).asRuntimeException(e.getTrailers());
    }
    if (failure instanceof JailerException e) {
      return fromJailerException(e);
    }
    logger.log(Level.SEVERE, "unexpected failure in a call", failure);
    return Status.INTERNAL
        .withDescription("internal error: " + failure)
        .withCause(failure)
        .asRuntimeException();
  }

  private static StatusRuntimeException fromJailerException(JailerException e) {
    Code code = codeOf(e.kind());
    if (code == Code.INTERNAL) {
      logger.log(Level.WARNING, e.getMessage(), e);
    }
    com.google.rpc.Status.Builder status =
        com.google.rpc.Status.newBuilder().setCode(code.getNumber()).setMessage(e.getMessage());
    status.addDetails(
        Any.pack(
            ErrorInfo.newBuilder().setDomain(ERROR_DOMAIN).setReason(e.kind().name()).build()));
    if (!e.violations().isEmpty()) {
      BadRequest.Builder badRequest = BadRequest.newBuilder();
      for (JailerException.Violation v : e.violations()) {
        badRequest.addFieldViolations(
            BadRequest.FieldViolation.newBuilder()
                .setField(v.field())
                .setDescription(v.description()));
      }
      status.addDetails(Any.pack(badRequest.build()));
    }
    return StatusProto.toStatusRuntimeException(status.build());
  }

  /** The canonical code of each core failure kind. */
  static Code codeOf(JailerException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Code.INVALID_ARGUMENT;
      case NOT_FOUND -> Code.NOT_FOUND;
      case PERMISSION_DENIED -> Code.PERMISSION_DENIED;
      case FAILED_PRECONDITION -> Code.FAILED_PRECONDITION;
      case CANCELLED -> Code.CANCELLED;
      case INTERNAL -> Code.INTERNAL;
    };
  }
}
