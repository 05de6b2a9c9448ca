package dev.jailer.server;


import dev.jailer.v1.Box;
import dev.jailer.v1.BoxState;
import dev.jailer.v1.JailerGrpc;
import dev.jailer.v1.ListRequest;
import dev.jailer.v1.ListResponse;
import dev.jailer.v1.StopRequest;
import dev.jailer.v1.StopResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Options, a canned service and raw channels for the server tests. */
final class ServerTestSupport {
  private ServerTestSupport() {}

  /** Options parsed as root with an empty environment. */
  static ServerOptions options(String... args) throws InvalidFlagException {
    return ServerOptions.parse(List.of(args), 0, Map.of());
  }

  /**
   * A plaintext channel to a Unix socket through gRPC's own {@code unix://} target support, the
   * way generic tools reach the server; for the health and reflection stubs.
   */
  static ManagedChannel unixChannel(Path socket) {
    return Grpc.newChannelBuilder("unix://" + socket, InsecureChannelCredentials.create())
        .build();
  }

  /** Closes a channel and waits for it. */
  static void close(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** List answers two boxes; Stop takes {@code stopMillis} and signals when it has begun. */
  static final class CannedJailer extends JailerGrpc.JailerImplBase {
    volatile long stopMillis;
    final CountDownLatch stopStarted = new CountDownLatch(1);

    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> response) {
      response.onNext(
          ListResponse.newBuilder()
              .addBoxes(Box.newBuilder().setBoxId("a").setState(BoxState.BOX_STATE_STAGED))
              .addBoxes(Box.newBuilder().setBoxId("b").setState(BoxState.BOX_STATE_RUNNING))
              .build());
      response.onCompleted();
    }

    @Override
    public void stop(StopRequest request, StreamObserver<StopResponse> response) {
      stopStarted.countDown();
      try {
        Thread.sleep(stopMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      response.onNext(
          StopResponse.newBuilder()
              .setBox(
                  Box.newBuilder()
                      .setBoxId(request.getBoxId())
                      .setState(BoxState.BOX_STATE_EXITED))
              .build());
      response.onCompleted();
    }
  }
}
