package dev.jailer.server;

import static java.util.Objects.requireNonNull;

import dev.jailer.core.Jailer;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.sandbox.macos.SeatbeltSpawner;
import dev.jailer.v1.Box;
import dev.jailer.v1.InspectRequest;
import dev.jailer.v1.InspectResponse;
import dev.jailer.v1.JailerGrpc;
import dev.jailer.v1.ListRequest;
import dev.jailer.v1.ListResponse;
import dev.jailer.v1.RemoveRequest;
import dev.jailer.v1.RemoveResponse;
import dev.jailer.v1.SpawnRequest;
import dev.jailer.v1.SpawnResponse;
import dev.jailer.v1.StageRequest;
import dev.jailer.v1.StageResponse;
import dev.jailer.v1.StopRequest;
import dev.jailer.v1.StopResponse;
import dev.jailer.v1.WatchEvent;
import dev.jailer.v1.WatchRequest;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The {@code jailer.v1.Jailer} service: a thin translation between the v1 messages and
 * {@link Jailer}. Handlers never throw; every failure reaches the caller through
 * {@link StatusMapper}.
 */
public final class JailerService extends JailerGrpc.JailerImplBase {
  private static final Logger logger = Logger.getLogger(JailerService.class.getName());

  private final Jailer jailer;

  public JailerService(Jailer jailer) {
    this.jailer = requireNonNull(jailer, "jailer");
  }

  @Override
  public void stage(StageRequest request, StreamObserver<StageResponse> responses) {
    unary(responses, () -> {
      BoxView box =
          jailer.stage(
              request.getBoxId(), request.getShimPath(),
              BoxProtos.volumes(request.getVolumesList()));
      return StageResponse.newBuilder().setBox(toProto(box, 0, false)).build();
    });
  }

  @Override
  public void spawn(SpawnRequest request, StreamObserver<SpawnResponse> responses) {
    Context context = Context.current();
    unary(responses, () -> {
      BoxView box =
          jailer.spawn(
              request.getBoxId(), BoxProtos.spawnOptions(request), context::isCancelled);
      return SpawnResponse.newBuilder().setBox(toProto(box, 0, false)).build();
    });
  }

  @Override
  public void inspect(InspectRequest request, StreamObserver<InspectResponse> responses) {
    unary(responses, () -> {
      BoxView box = jailer.inspect(request.getBoxId());
      return InspectResponse.newBuilder()
          .setBox(toProto(box, request.getLogTailBytes(), request.getIncludeProfile()))
          .build();
    });
  }

  @Override
  public void stop(StopRequest request, StreamObserver<StopResponse> responses) {
    unary(responses, () -> {
      Duration grace =
          request.getGracePeriodMillis() > 0
              ? Duration.ofMillis(request.getGracePeriodMillis())
              : jailer.config().defaultStopGrace();
      BoxView box = jailer.stop(request.getBoxId(), grace);
      return StopResponse.newBuilder().setBox(toProto(box, 0, false)).build();
    });
  }

  @Override
  public void remove(RemoveRequest request, StreamObserver<RemoveResponse> responses) {
    unary(responses, () -> {
      BoxView box = jailer.remove(request.getBoxId(), request.getForce());
      return RemoveResponse.newBuilder().setBox(toProto(box, 0, false)).build();
    });
  }

  @Override
  public void list(ListRequest request, StreamObserver<ListResponse> responses) {
    unary(responses, () -> {
      Optional<BoxState> state = Optional.ofNullable(BoxProtos.coreState(request.getState()));
      ListResponse.Builder list = ListResponse.newBuilder();
      for (BoxView box : jailer.list(state)) {
        list.addBoxes(toProto(box, 0, false));
      }
      return list.build();
    });
  }

  @Override
  public void watch(WatchRequest request, StreamObserver<WatchEvent> responses) {
    ServerCallStreamObserver<WatchEvent> stream =
        (ServerCallStreamObserver<WatchEvent>) responses;
    Optional<String> boxId =
        request.getBoxId().isEmpty() ? Optional.empty() : Optional.of(request.getBoxId());
    AutoCloseable subscription;
    try {
      // Events arrive on the threads that change boxes; the lock keeps onNext calls apart, as
      // StreamObserver requires.
      // Limitation: events for a watcher that reads more slowly than boxes change are buffered
      // by gRPC without bound; a watcher is expected to keep up (events are small and rare).
      subscription =
          jailer.watch(boxId, event -> {
            synchronized (stream) {
              if (!stream.isCancelled()) {
                stream.onNext(
                    WatchEvent.newBuilder()
                        .setBox(toProto(event.box(), 0, false))
                        .setRemoved(event.removed())
                        .build());
              }
            }
          });
    } catch (RuntimeException e) {
      responses.onError(StatusMapper.toStatusException(e));
      return;
    }
    stream.setOnCancelHandler(() -> {
      try {
        subscription.close();
      } catch (Exception e) {
        logger.fine(() -> "closing a watch failed: " + e);
      }
    });
    if (stream.isCancelled()) {
      try {
        subscription.close();
      } catch (Exception e) {
        logger.fine(() -> "closing a watch failed: " + e);
      }
    }
  }

  private Box toProto(BoxView box, long logTailBytes, boolean includeProfile) {
    String profile = "";
    if (includeProfile) {
      // Written by the Seatbelt spawner at each spawn; other sandboxes have no profile text.
      Path file = SeatbeltSpawner.profileFile(box.layout());
      try {
        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
          profile = Files.readString(file);
        }
      } catch (java.io.IOException e) {
        logger.fine(() -> "cannot read " + file + ": " + e);
      }
    }
    return BoxProtos.box(box, logTailBytes, profile);
  }

  private static <T> void unary(StreamObserver<T> responses, Supplier<T> call) {
    T response;
    try {
      response = call.get();
    } catch (Throwable t) {
      responses.onError(StatusMapper.toStatusException(t));
      return;
    }
    responses.onNext(response);
    responses.onCompleted();
  }
}
