package dev.jailer.client;

import io.grpc.Status;

/**
 * Why a call to the jailer failed: the canonical gRPC status codes, without OK, so callers of
 * {@link JailerClient} need no gRPC import to branch on a failure.
 *
 * <p>The jailer itself answers {@link #INVALID_ARGUMENT} (a request field is malformed; see
 * {@link JailerClientException#fieldViolations()}), {@link #PERMISSION_DENIED} (a shim, volume or
 * seccomp profile outside what the operator allowed), {@link #NOT_FOUND} (unknown box),
 * {@link #FAILED_PRECONDITION} (the box or host is in the wrong state) and {@link #INTERNAL}; the
 * transport adds {@link #UNAVAILABLE}, {@link #DEADLINE_EXCEEDED} and {@link #CANCELLED}.
 */
public enum ErrorCode {
  CANCELLED,
  UNKNOWN,
  INVALID_ARGUMENT,
  DEADLINE_EXCEEDED,
  NOT_FOUND,
  ALREADY_EXISTS,
  PERMISSION_DENIED,
  RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION,
  ABORTED,
  OUT_OF_RANGE,
  UNIMPLEMENTED,
  INTERNAL,
  UNAVAILABLE,
  DATA_LOSS,
  UNAUTHENTICATED;

  /**
   * The code for a gRPC status code. {@code OK} never describes a failure and maps to
   * {@link #UNKNOWN}, as does any code a newer gRPC might add.
   */
  static ErrorCode of(Status.Code code) {
    if (code == Status.Code.OK) {
      return UNKNOWN;
    }
    try {
      return valueOf(code.name());
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }
}
