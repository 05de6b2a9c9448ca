package dev.jailer.server;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logs one FINE line per call: method, peer, status code and duration. Never the request, the
 * response or the status description, which may echo what the caller sent (environment values
 * among them).
 */
final class CallLogInterceptor implements ServerInterceptor {
  private static final Logger logger = Logger.getLogger(CallLogInterceptor.class.getName());

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    if (!logger.isLoggable(Level.FINE)) {
      return next.startCall(call, headers);
    }
    long start = System.nanoTime();
    String method = call.getMethodDescriptor().getFullMethodName();
    String peer = describe(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    AtomicBoolean logged = new AtomicBoolean();
    ServerCall<ReqT, RespT> logging =
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            log(logged, method, peer, status.getCode().name(), start);
            super.close(status, trailers);
          }
        };
    ServerCall.Listener<ReqT> listener = next.startCall(logging, headers);
    return new SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onCancel() {
        // The client cancelled, its deadline passed, or the connection dropped.
        log(logged, method, peer, "CANCELLED by peer", start);
        super.onCancel();
      }
    };
  }

  private static void log(
      AtomicBoolean logged, String method, String peer, String outcome, long startNanos) {
    if (!logged.compareAndSet(false, true)) {
      return;
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    logger.fine(method + " from " + peer + ": " + outcome + " in " + millis + " ms");
  }

  private static String describe(SocketAddress peer) {
    if (peer == null) {
      return "unknown peer";
    }
    if (peer instanceof DomainSocketAddress) {
      // The client end of a Unix socket connection has no path.
      return "local unix socket";
    }
    return peer.toString();
  }
}
