package dev.jailer.server;

import static dev.jailer.server.ServerTestSupport.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.server.ServerTestSupport.CannedJailer;
import dev.jailer.v1.BoxState;
import dev.jailer.v1.JailerGrpc;
import dev.jailer.v1.ListRequest;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JailerServerServicesTest {
  @TempDir Path tmp;

  private JailerServer server;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      ServerTestSupport.close(channel);
    }
    if (server != null) {
      server.shutdown(Duration.ZERO);
    }
  }

  private void start(Optional<String> sandboxProblem) throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    server =
        JailerServer.start(
            options("--listen", "unix:" + socket), new CannedJailer(), sandboxProblem);
    channel = ServerTestSupport.unixChannel(socket);
  }

  private ServingStatus health(String service) {
    return HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }

  @Test
  void health_noSandboxProblem_servingOverallAndForJailer() throws Exception {
    start(Optional.empty());

    assertEquals(ServingStatus.SERVING, health(""));
    assertEquals(ServingStatus.SERVING, health(JailerGrpc.SERVICE_NAME));
  }

  @Test
  void health_sandboxProblem_notServingUntilCleared() throws Exception {
    start(Optional.of("bwrap cannot create a user namespace; enable unprivileged userns"));

    assertEquals(ServingStatus.NOT_SERVING, health(""));
    assertEquals(ServingStatus.NOT_SERVING, health("jailer.v1.Jailer"));

    server.setSandboxProblem(Optional.empty());

    assertEquals(ServingStatus.SERVING, health(""));
    assertEquals(ServingStatus.SERVING, health("jailer.v1.Jailer"));

    server.setSandboxProblem(Optional.of("cgroup memory controller missing"));

    assertEquals(ServingStatus.NOT_SERVING, health("jailer.v1.Jailer"));
  }

  @Test
  void reflection_listServices_includesJailerHealthAndReflection() throws Exception {
    start(Optional.empty());
    CompletableFuture<List<String>> names = new CompletableFuture<>();

    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(channel)
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .serverReflectionInfo(
                new StreamObserver<ServerReflectionResponse>() {
                  @Override
                  public void onNext(ServerReflectionResponse response) {
                    names.complete(
                        response.getListServicesResponse().getServiceList().stream()
                            .map(ServiceResponse::getName)
                            .toList());
                  }

                  @Override
                  public void onError(Throwable t) {
                    names.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();

    List<String> services = names.get(5, TimeUnit.SECONDS);
    assertTrue(services.contains("jailer.v1.Jailer"), services.toString());
    assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
    assertTrue(services.contains("grpc.reflection.v1.ServerReflection"), services.toString());
  }

  @Test
  void callLog_atFine_oneLineWithMethodPeerCodeAndNoRequestContent() throws Exception {
    Logger logger = Logger.getLogger(CallLogInterceptor.class.getName());
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            lines.add(record.getLevel() + " " + record.getMessage());
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Level before = logger.getLevel();
    logger.setLevel(Level.FINE);
    logger.addHandler(capture);
    try {
      start(Optional.empty());

      JailerGrpc.newBlockingStub(channel)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .list(ListRequest.newBuilder().setState(BoxState.BOX_STATE_RUNNING).build());
      server.shutdown(Duration.ofSeconds(1));
    } finally {
      logger.removeHandler(capture);
      logger.setLevel(before);
    }

    assertEquals(1, lines.size(), lines.toString());
    String line = lines.get(0);
    assertTrue(
        line.matches("FINE jailer\\.v1\\.Jailer/List from local unix socket: OK in \\d+ ms"),
        line);
    assertFalse(line.contains("RUNNING"), line);
  }
}
