package dev.jailer.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import dev.jailer.v1.Box;
import dev.jailer.v1.BoxState;
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
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class JailerClientTest {
  /** How the test server is reached. */
  enum Transport {
    UNIX,
    TCP
  }

  @TempDir Path tmp;

  private final FakeJailer fake = new FakeJailer();
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    Collections.reverse(cleanup);
    for (AutoCloseable c : cleanup) {
      c.close();
    }
  }

  private String startServer(Transport transport) throws Exception {
    Server server;
    String target;
    if (transport == Transport.UNIX) {
      Path socket = tmp.resolve("jailer.sock");
      EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
      EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
      server =
          NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
              .channelType(EpollServerDomainSocketChannel.class)
              .bossEventLoopGroup(boss)
              .workerEventLoopGroup(workers)
              .withChildOption(ChannelOption.SO_KEEPALIVE, null)
              .addService(fake)
              .build()
              .start();
      cleanup.add(
          () -> {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
          });
      target = "unix:" + socket;
    } else {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .addService(fake)
              .build()
              .start();
      target = "127.0.0.1:" + server.getPort();
    }
    cleanup.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return target;
  }

  private JailerClient client(String target, Duration deadline) {
    JailerClient client = JailerClient.builder(target).defaultDeadline(deadline).build();
    cleanup.add(client);
    return client;
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void blockingCalls_cannedServer_returnBoxes(Transport transport) throws Exception {
    JailerClient client = client(startServer(transport), Duration.ofSeconds(10));

    Box staged =
        client.stage(StageRequest.newBuilder().setBoxId("b1").setShimPath("/opt/shim").build());
    Box inspected = client.inspect("b1");
    Box stopped = client.stop(StopRequest.newBuilder().setBoxId("b1").build());
    List<Box> all = client.list();

    assertEquals("b1", staged.getBoxId());
    assertEquals(BoxState.BOX_STATE_STAGED, staged.getState());
    assertEquals("/opt/shim", staged.getShimPath());
    assertEquals(BoxState.BOX_STATE_RUNNING, inspected.getState());
    assertEquals(BoxState.BOX_STATE_EXITED, stopped.getState());
    assertEquals(List.of("a", "b"), all.stream().map(Box::getBoxId).toList());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void spawn_badRequestDetail_exposesCodeMessageAndViolations(Transport transport)
      throws Exception {
    JailerClient client = client(startServer(transport), Duration.ofSeconds(10));

    JailerClientException e =
        assertThrows(
            JailerClientException.class,
            () -> client.spawn(SpawnRequest.newBuilder().setBoxId("b1").build()));

    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertEquals("spawn request refused", e.serverMessage());
    assertEquals(
        List.of(
            new FieldViolation("env[LD_PRELOAD]", "loader variables are not allowed"),
            new FieldViolation("limits.max_pids", "must not be negative")),
        e.fieldViolations());
    assertInstanceOf(StatusRuntimeException.class, e.getCause());
    assertTrue(e.getMessage().startsWith("INVALID_ARGUMENT: spawn request refused"));
  }

  @Test
  void inspect_unknownBox_throwsNotFoundWithoutViolations() throws Exception {
    JailerClient client = client(startServer(Transport.UNIX), Duration.ofSeconds(10));

    JailerClientException e =
        assertThrows(JailerClientException.class, () -> client.inspect("nope"));

    assertEquals(ErrorCode.NOT_FOUND, e.code());
    assertEquals("no box nope", e.serverMessage());
    assertTrue(e.fieldViolations().isEmpty());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void futures_successAndFailure_completeWithBoxOrClientException(Transport transport)
      throws Exception {
    JailerClient client = client(startServer(transport), Duration.ofSeconds(10));

    ListenableFuture<Box> staged =
        client.stageAsync(StageRequest.newBuilder().setBoxId("f1").build());
    ListenableFuture<List<Box>> listed = client.listAsync(ListRequest.getDefaultInstance());
    ListenableFuture<Box> removed =
        client.removeAsync(RemoveRequest.newBuilder().setBoxId("f1").build());
    ListenableFuture<Box> spawned =
        client.spawnAsync(SpawnRequest.newBuilder().setBoxId("f1").build());

    assertEquals("f1", staged.get(10, TimeUnit.SECONDS).getBoxId());
    assertEquals(2, listed.get(10, TimeUnit.SECONDS).size());
    ExecutionException removeFailure =
        assertThrows(ExecutionException.class, () -> removed.get(10, TimeUnit.SECONDS));
    JailerClientException removeCause =
        assertInstanceOf(JailerClientException.class, removeFailure.getCause());
    assertEquals(ErrorCode.FAILED_PRECONDITION, removeCause.code());
    ExecutionException spawnFailure =
        assertThrows(ExecutionException.class, () -> spawned.get(10, TimeUnit.SECONDS));
    JailerClientException spawnCause =
        assertInstanceOf(JailerClientException.class, spawnFailure.getCause());
    assertEquals(2, spawnCause.fieldViolations().size());
  }

  @Test
  void inspectAsync_knownBox_completes() throws Exception {
    JailerClient client = client(startServer(Transport.TCP), Duration.ofSeconds(10));

    Box box = client.inspectAsync(InspectRequest.newBuilder().setBoxId("x").build()).get();
    Box stopped = client.stopAsync(StopRequest.newBuilder().setBoxId("x").build()).get();

    assertEquals("x", box.getBoxId());
    assertEquals(BoxState.BOX_STATE_EXITED, stopped.getState());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void stop_slowerThanDeadline_throwsDeadlineExceeded(Transport transport) throws Exception {
    JailerClient client = client(startServer(transport), Duration.ofMillis(300));
    fake.stopDelayMillis = 3_000;

    long start = System.nanoTime();
    JailerClientException e =
        assertThrows(
            JailerClientException.class,
            () -> client.stop(StopRequest.newBuilder().setBoxId("slow").build()));
    long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

    assertEquals(ErrorCode.DEADLINE_EXCEEDED, e.code());
    assertTrue(elapsedMillis < 2_500, "returned after " + elapsedMillis + " ms");
  }

  @Test
  void stopAsync_slowerThanDeadline_failsWithDeadlineExceeded() throws Exception {
    JailerClient client = client(startServer(Transport.UNIX), Duration.ofMillis(300));
    fake.stopDelayMillis = 3_000;

    ListenableFuture<Box> stopped =
        client.stopAsync(StopRequest.newBuilder().setBoxId("slow").build());

    ExecutionException e =
        assertThrows(ExecutionException.class, () -> stopped.get(10, TimeUnit.SECONDS));
    assertEquals(
        ErrorCode.DEADLINE_EXCEEDED,
        assertInstanceOf(JailerClientException.class, e.getCause()).code());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void watch_serverEndsStream_deliversEventsThenCompletes(Transport transport) throws Exception {
    JailerClient client = client(startServer(transport), Duration.ofSeconds(10));
    List<String> seen = Collections.synchronizedList(new ArrayList<>());

    WatchHandle watch =
        client.watch(
            WatchRequest.newBuilder().setBoxId("w").build(),
            event -> seen.add(event.getBox().getBoxId() + "/" + event.getRemoved()));
    watch.done().get(10, TimeUnit.SECONDS);

    assertEquals(List.of("w/false", "w/true"), seen);
  }

  @Test
  void watch_cancelledByCaller_completesAndServerSeesCancel() throws Exception {
    JailerClient client = client(startServer(Transport.UNIX), Duration.ofSeconds(10));
    fake.watchStaysOpen = true;
    CountDownLatch firstEvent = new CountDownLatch(1);

    WatchHandle watch =
        client.watch(WatchRequest.getDefaultInstance(), event -> firstEvent.countDown());
    assertTrue(firstEvent.await(10, TimeUnit.SECONDS));
    watch.close();

    watch.done().get(10, TimeUnit.SECONDS);
    assertTrue(fake.watchCancelled.await(10, TimeUnit.SECONDS));
  }

  @Test
  void watch_serverFails_failsDoneWithClientException() throws Exception {
    JailerClient client = client(startServer(Transport.TCP), Duration.ofSeconds(10));

    WatchHandle watch =
        client.watch(WatchRequest.newBuilder().setBoxId("missing").build(), event -> {});

    ExecutionException e =
        assertThrows(ExecutionException.class, () -> watch.done().get(10, TimeUnit.SECONDS));
    assertEquals(
        ErrorCode.NOT_FOUND, assertInstanceOf(JailerClientException.class, e.getCause()).code());
  }

  @Test
  void call_noServerListening_throwsUnavailable() {
    JailerClient client =
        client("unix:" + tmp.resolve("nobody-here.sock"), Duration.ofSeconds(5));

    JailerClientException e = assertThrows(JailerClientException.class, client::list);

    assertEquals(ErrorCode.UNAVAILABLE, e.code());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void close_afterCalls_endsEveryClientThread(Transport transport) throws Exception {
    String target = startServer(transport);
    JailerClient client = JailerClient.builder(target).build();
    client.list();
    client.stageAsync(StageRequest.newBuilder().setBoxId("t").build()).get();
    assertTrue(clientThreads() > 0, "the client should have started threads");

    client.close();

    // A pool reports termination just before its last thread has returned from run(); give
    // the threads a moment to finish dying.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (clientThreads() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, clientThreads(), "threads still alive: " + Thread.getAllStackTraces().keySet());
    assertThrows(JailerClientException.class, client::list);
  }

  private static long clientThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("jailer-client"))
        .count();
  }

  @Test
  void builder_badTargets_areRefused() {
    assertThrows(IllegalArgumentException.class, () -> JailerClient.create("unix:relative.sock"));
    assertThrows(IllegalArgumentException.class, () -> JailerClient.create("localhost"));
    assertThrows(IllegalArgumentException.class, () -> JailerClient.create("localhost:http"));
    assertThrows(IllegalArgumentException.class, () -> JailerClient.create("::1:7000"));
    assertThrows(IllegalArgumentException.class, () -> JailerClient.create("host:70000"));
    assertThrows(
        IllegalArgumentException.class,
        () -> JailerClient.builder("unix:/x.sock").tls(tmp.resolve("ca.pem")).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> JailerClient.builder("unix:/x.sock").defaultDeadline(Duration.ZERO));
  }

  @Test
  void unixPath_tripleSlashForm_isTheSamePath() {
    assertEquals(Path.of("/run/j.sock"), JailerClient.unixPath("unix:///run/j.sock"));
    assertEquals(Path.of("/run/j.sock"), JailerClient.unixPath("unix:/run/j.sock"));
  }

  @Test
  void errorCode_everyGrpcFailureCode_hasAMatch() {
    for (Status.Code code : Status.Code.values()) {
      if (code != Status.Code.OK) {
        assertEquals(code.name(), ErrorCode.of(code).name());
      }
    }
    assertFalse(ErrorCode.of(Status.Code.OK).name().equals("OK"));
  }

  /** Canned answers; the test adjusts its knobs before calling. */
  static final class FakeJailer extends JailerGrpc.JailerImplBase {
    volatile long stopDelayMillis;
    volatile boolean watchStaysOpen;
    final CountDownLatch watchCancelled = new CountDownLatch(1);

    private static Box box(String id, BoxState state) {
      return Box.newBuilder().setBoxId(id).setState(state).build();
    }

    @Override
    public void stage(StageRequest request, StreamObserver<StageResponse> response) {
      Box box =
          box(request.getBoxId(), BoxState.BOX_STATE_STAGED).toBuilder()
              .setShimPath(request.getShimPath())
              .build();
      response.onNext(StageResponse.newBuilder().setBox(box).build());
      response.onCompleted();
    }

    @Override
    public void spawn(SpawnRequest request, StreamObserver<SpawnResponse> response) {
      BadRequest detail =
          BadRequest.newBuilder()
              .addFieldViolations(
                  BadRequest.FieldViolation.newBuilder()
                      .setField("env[LD_PRELOAD]")
                      .setDescription("loader variables are not allowed"))
              .addFieldViolations(
                  BadRequest.FieldViolation.newBuilder()
                      .setField("limits.max_pids")
                      .setDescription("must not be negative"))
              .build();
      com.google.rpc.Status status =
          com.google.rpc.Status.newBuilder()
              .setCode(Code.INVALID_ARGUMENT_VALUE)
              .setMessage("spawn request refused")
              .addDetails(Any.pack(detail))
              .build();
      response.onError(StatusProto.toStatusRuntimeException(status));
    }

    @Override
    public void inspect(InspectRequest request, StreamObserver<InspectResponse> response) {
      if (request.getBoxId().equals("nope")) {
        response.onError(Status.NOT_FOUND.withDescription("no box nope").asRuntimeException());
        return;
      }
      response.onNext(
          InspectResponse.newBuilder()
              .setBox(box(request.getBoxId(), BoxState.BOX_STATE_RUNNING))
              .build());
      response.onCompleted();
    }

    @Override
    public void stop(StopRequest request, StreamObserver<StopResponse> response) {
      if (stopDelayMillis > 0) {
        try {
          Thread.sleep(stopDelayMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      response.onNext(
          StopResponse.newBuilder()
              .setBox(box(request.getBoxId(), BoxState.BOX_STATE_EXITED))
              .build());
      response.onCompleted();
    }

    @Override
    public void remove(RemoveRequest request, StreamObserver<RemoveResponse> response) {
      response.onError(
          Status.FAILED_PRECONDITION.withDescription("box is running").asRuntimeException());
    }

    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> response) {
      response.onNext(
          ListResponse.newBuilder()
              .addBoxes(box("a", BoxState.BOX_STATE_STAGED))
              .addBoxes(box("b", BoxState.BOX_STATE_RUNNING))
              .build());
      response.onCompleted();
    }

    @Override
    public void watch(WatchRequest request, StreamObserver<WatchEvent> response) {
      if (request.getBoxId().equals("missing")) {
        response.onError(Status.NOT_FOUND.withDescription("no box missing").asRuntimeException());
        return;
      }
      Box box = box(request.getBoxId(), BoxState.BOX_STATE_RUNNING);
      ServerCallStreamObserver<WatchEvent> call = (ServerCallStreamObserver<WatchEvent>) response;
      call.setOnCancelHandler(watchCancelled::countDown);
      response.onNext(WatchEvent.newBuilder().setBox(box).build());
      if (watchStaysOpen) {
        return;
      }
      response.onNext(WatchEvent.newBuilder().setBox(box).setRemoved(true).build());
      response.onCompleted();
    }
  }
}
