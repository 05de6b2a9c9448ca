package dev.jailer.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.util.concurrent.MoreExecutors.directExecutor;
import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
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
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A connection to one jailer server, with one blocking and one {@link ListenableFuture} method
 * per RPC of {@code jailer.v1.Jailer}.
 *
 * <p>The target is {@code unix:/absolute/path} (also {@code unix:///absolute/path}) for the
 * server's Unix socket (on Linux through Netty's epoll, on macOS through its kqueue), or
 * {@code host:port} ({@code [::1]:port} for an IPv6 literal) for TCP, plaintext unless
 * {@link Builder#tls TLS} is configured. Every unary call carries the client's
 * default deadline (30 seconds unless the builder sets another); a {@link #watch watch} stream
 * has none, because it is meant to stay open.
 *
 * <p>Failures: every method throws (and every future fails with) a {@link JailerClientException}
 * that carries the {@link ErrorCode}, the server's message and the refused request fields.
 *
 * <p>Thread-safe; create one per server and {@link #close()} it when done, which stops every
 * thread it started. The connection is made lazily, on the first call.
 */
public final class JailerClient implements AutoCloseable {
  /** The deadline of each unary call when the builder sets none. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(30);

  private static final Logger logger = Logger.getLogger(JailerClient.class.getName());
  private static final String UNIX_PREFIX = "unix:";

  private final String target;
  private final ManagedChannel channel;
  private final BooleanSupplier eventLoopShutdown;
  private final ExecutorService executor;
  private final Duration defaultDeadline;
  private final JailerGrpc.JailerBlockingStub blocking;
  private final JailerGrpc.JailerFutureStub future;
  private final JailerGrpc.JailerStub async;

  private JailerClient(Builder builder) {
    this.target = builder.target;
    this.defaultDeadline = builder.defaultDeadline;
    ChannelCredentials credentials = builder.credentials();
    // Owning the executor and the event loop (instead of gRPC's shared ones) lets close()
    // guarantee that no thread of this client outlives it.
    this.executor =
        Executors.newCachedThreadPool(new DefaultThreadFactory("jailer-client-call", true));
    try {
      if (target.startsWith(UNIX_PREFIX)) {
        UnixChannels.Built built =
            UnixChannels.build(
                UnixChannels.Os.current(), unixPath(target), credentials, executor,
                "jailer-client");
        this.channel = built.channel();
        this.eventLoopShutdown = built.shutdownEventLoop();
      } else {
        HostPort hostPort = HostPort.parse(target);
        EventLoopGroup eventLoop =
            new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("jailer-client", true), NioIoHandler.newFactory());
        this.channel =
            NettyChannelBuilder.forAddress(hostPort.host, hostPort.port, credentials)
                .channelType(NioSocketChannel.class)
                .eventLoopGroup(eventLoop)
                .executor(executor)
                .build();
        this.eventLoopShutdown =
            () -> eventLoop.shutdownGracefully(0, 5, TimeUnit.SECONDS)
                .awaitUninterruptibly(10_000);
      }
    } catch (RuntimeException e) {
      executor.shutdownNow();
      throw e;
    }
    this.blocking = JailerGrpc.newBlockingStub(channel);
    this.future = JailerGrpc.newFutureStub(channel);
    this.async = JailerGrpc.newStub(channel);
  }

  /**
   * A client for {@code target} with the default deadline and no TLS.
   *
   * @throws IllegalArgumentException when the target is neither {@code unix:/absolute/path} nor
   *     {@code host:port}
   */
  public static JailerClient create(String target) {
    return builder(target).build();
  }

  /**
   * A builder for a client of {@code target} ({@code unix:/absolute/path} or {@code host:port}).
   * The target is checked by {@link Builder#build()}.
   */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /** The target this client connects to, as given. */
  public String target() {
    return target;
  }

  /** The deadline every unary call carries. */
  public Duration defaultDeadline() {
    return defaultDeadline;
  }

  /**
   * Stages a box (see {@code Jailer.Stage}) and returns it.
   *
   * @throws JailerClientException with INVALID_ARGUMENT, PERMISSION_DENIED, FAILED_PRECONDITION,
   *     or a transport code
   */
  public Box stage(StageRequest request) {
    return call(() -> blockingStub().stage(request).getBox());
  }

  /**
   * Spawns a staged box (see {@code Jailer.Spawn}) and returns it RUNNING.
   *
   * @throws JailerClientException with NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, or a
   *     transport code
   */
  public Box spawn(SpawnRequest request) {
    return call(() -> blockingStub().spawn(request).getBox());
  }

  /**
   * Describes one box (see {@code Jailer.Inspect}).
   *
   * @throws JailerClientException with NOT_FOUND or a transport code
   */
  public Box inspect(InspectRequest request) {
    return call(() -> blockingStub().inspect(request).getBox());
  }

  /**
   * Describes one box without log tails or profile text.
   *
   * @throws JailerClientException with NOT_FOUND or a transport code
   */
  public Box inspect(String boxId) {
    return inspect(InspectRequest.newBuilder().setBoxId(boxId).build());
  }

  /**
   * Stops a box (see {@code Jailer.Stop}) and returns it EXITED. Waits for the server's grace
   * period, so the default deadline must exceed it.
   *
   * @throws JailerClientException with NOT_FOUND or a transport code
   */
  public Box stop(StopRequest request) {
    return call(() -> blockingStub().stop(request).getBox());
  }

  /**
   * Removes a box (see {@code Jailer.Remove}) and returns its last state.
   *
   * @throws JailerClientException with NOT_FOUND, FAILED_PRECONDITION or a transport code
   */
  public Box remove(RemoveRequest request) {
    return call(() -> blockingStub().remove(request).getBox());
  }

  /**
   * Lists boxes (see {@code Jailer.List}), ordered by box id; an unmodifiable list.
   *
   * @throws JailerClientException with a transport code
   */
  public List<Box> list(ListRequest request) {
    return call(() -> blockingStub().list(request).getBoxesList());
  }

  /**
   * Lists every box, ordered by box id.
   *
   * @throws JailerClientException with a transport code
   */
  public List<Box> list() {
    return list(ListRequest.getDefaultInstance());
  }

  /** {@link #stage} without blocking; the future fails with a {@link JailerClientException}. */
  public ListenableFuture<Box> stageAsync(StageRequest request) {
    return unary(futureStub().stage(request), StageResponse::getBox);
  }

  /** {@link #spawn} without blocking; the future fails with a {@link JailerClientException}. */
  public ListenableFuture<Box> spawnAsync(SpawnRequest request) {
    return unary(futureStub().spawn(request), SpawnResponse::getBox);
  }

  /** {@link #inspect} without blocking; the future fails with a {@link JailerClientException}. */
  public ListenableFuture<Box> inspectAsync(InspectRequest request) {
    return unary(futureStub().inspect(request), InspectResponse::getBox);
  }

  /** {@link #stop} without blocking; the future fails with a {@link JailerClientException}. */
  public ListenableFuture<Box> stopAsync(StopRequest request) {
    return unary(futureStub().stop(request), StopResponse::getBox);
  }

  /** {@link #remove} without blocking; the future fails with a {@link JailerClientException}. */
  public ListenableFuture<Box> removeAsync(RemoveRequest request) {
    return unary(futureStub().remove(request), RemoveResponse::getBox);
  }

  /** {@link #list} without blocking; the future fails with a {@link JailerClientException}. */
  public ListenableFuture<List<Box>> listAsync(ListRequest request) {
    return unary(futureStub().list(request), ListResponse::getBoxesList);
  }

  /**
   * Opens a watch stream (see {@code Jailer.Watch}) and returns at once. {@code onEvent} is
   * called for each event, one at a time, on a thread of this client; it should return
   * quickly. The stream has no deadline: it lasts until the server ends it, it fails, or the
   * returned handle is cancelled; {@link WatchHandle#done()} tells which.
   *
   * <p>An exception thrown by {@code onEvent} cancels the stream and fails {@code done()} with
   * that exception.
   */
  public WatchHandle watch(WatchRequest request, Consumer<WatchEvent> onEvent) {
    requireNonNull(request, "request");
    requireNonNull(onEvent, "onEvent");
    WatchHandle handle = new WatchHandle();
    async.watch(request, new WatchObserver(handle, onEvent));
    return handle;
  }

  /**
   * Stops the client: refuses new calls, gives calls in flight up to five seconds, cancels what
   * remains, and ends every thread the client started. Idempotent; returns once the threads
   * are gone (or after a further few seconds if one does not end, which is logged).
   */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
    // The quiet period is 0: the channel is terminated, so no task can still arrive.
    boolean loopEnded = eventLoopShutdown.getAsBoolean();
    try {
      if (!executor.awaitTermination(5, TimeUnit.SECONDS) || !loopEnded) {
        logger.log(Level.WARNING, "threads of the client for {0} did not end in time", target);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private JailerGrpc.JailerBlockingStub blockingStub() {
    return blocking.withDeadlineAfter(defaultDeadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  private JailerGrpc.JailerFutureStub futureStub() {
    return future.withDeadlineAfter(defaultDeadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  private interface Call<T> {
    T run();
  }

  private static <T> T call(Call<T> call) {
    try {
      return call.run();
    } catch (StatusRuntimeException e) {
      throw JailerClientException.from(e);
    }
  }

  private static <R, T> ListenableFuture<T> unary(
      ListenableFuture<R> response, Function<R, T> extract) {
    ListenableFuture<T> value = Futures.transform(response, extract::apply, directExecutor());
    return Futures.catching(
        value,
        Throwable.class,
        failure -> {
          throw JailerClientException.from(failure);
        },
        directExecutor());
  }

  static Path unixPath(String target) {
    String rest = target.substring(UNIX_PREFIX.length());
    if (rest.startsWith("//")) {
      // unix:///path: an empty authority, then the absolute path.
      rest = rest.substring(2);
    }
    checkArgument(
        rest.startsWith("/") && !rest.startsWith("//"),
        "target %s: a unix: target needs an absolute path, e.g. unix:/run/jailer/jailer.sock",
        target);
    return Path.of(rest).normalize();
  }

  /** A {@code host:port} target; {@code [v6]:port} for IPv6 literals. */
  private static final class HostPort {
    final String host;
    final int port;

    private HostPort(String host, int port) {
      this.host = host;
      this.port = port;
    }

    static HostPort parse(String target) {
      int colon = target.lastIndexOf(':');
      checkArgument(
          colon > 0 && colon < target.length() - 1,
          "target %s is neither unix:/absolute/path nor host:port",
          target);
      String host = target.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      } else {
        checkArgument(
            host.indexOf(':') < 0, "target %s: write an IPv6 address as [addr]:port", target);
      }
      int port;
      try {
        port = Integer.parseInt(target.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("target " + target + ": the port is not a number", e);
      }
      checkArgument(port > 0 && port <= 65535, "target %s: port out of range 1-65535", target);
      checkArgument(!host.isEmpty(), "target %s: the host is empty", target);
      return new HostPort(host, port);
    }
  }

  private static final class WatchObserver
      implements ClientResponseObserver<WatchRequest, WatchEvent> {
    private final WatchHandle handle;
    private final Consumer<WatchEvent> onEvent;
    private ClientCallStreamObserver<WatchRequest> call;
    private RuntimeException callbackFailure;

    WatchObserver(WatchHandle handle, Consumer<WatchEvent> onEvent) {
      this.handle = handle;
      this.onEvent = onEvent;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
      this.call = requestStream;
      handle.attach(requestStream);
    }

    @Override
    public void onNext(WatchEvent event) {
      if (callbackFailure != null) {
        return;
      }
      try {
        onEvent.accept(event);
      } catch (RuntimeException e) {
        callbackFailure = e;
        call.cancel("the watch callback failed", e);
      }
    }

    @Override
    public void onError(Throwable t) {
      if (callbackFailure != null) {
        handle.doneFuture().setException(callbackFailure);
      } else if (handle.cancelledByCaller()) {
        handle.doneFuture().set(null);
      } else {
        handle.doneFuture().setException(JailerClientException.from(t));
      }
    }

    @Override
    public void onCompleted() {
      handle.doneFuture().set(null);
    }
  }

  /** Configures a {@link JailerClient}. Not thread-safe; build once. */
  public static final class Builder {
    private final String target;
    private Duration defaultDeadline = DEFAULT_DEADLINE;
    private Path caPem;
    private Path certPem;
    private Path keyPem;

    private Builder(String target) {
      this.target = requireNonNull(target, "target");
    }

    /**
     * The deadline of every unary call.
     *
     * @throws IllegalArgumentException when it is zero or negative
     */
    public Builder defaultDeadline(Duration deadline) {
      requireNonNull(deadline, "deadline");
      checkArgument(!deadline.isNegative() && !deadline.isZero(), "deadline must be positive");
      this.defaultDeadline = deadline;
      return this;
    }

    /**
     * Connects over TLS, trusting only the CA certificates in {@code caPem} (PEM), with no client
     * certificate. A server that requires mutual TLS refuses such a client.
     */
    public Builder tls(Path caPem) {
      this.caPem = requireNonNull(caPem, "caPem");
      this.certPem = null;
      this.keyPem = null;
      return this;
    }

    /**
     * Connects over mutual TLS: trusts the CA certificates in {@code caPem} and presents the
     * client certificate chain {@code certPem} with its private key {@code keyPem} (PKCS#8 PEM).
     * Only for {@code host:port} targets; a Unix socket is protected by its file mode.
     */
    public Builder tls(Path caPem, Path certPem, Path keyPem) {
      this.caPem = requireNonNull(caPem, "caPem");
      this.certPem = requireNonNull(certPem, "certPem");
      this.keyPem = requireNonNull(keyPem, "keyPem");
      return this;
    }

    /**
     * Creates the client. No connection is made until the first call.
     *
     * @throws IllegalArgumentException for a malformed target, or TLS on a unix: target
     * @throws UncheckedIOException when a TLS file cannot be read or parsed
     * @throws IllegalStateException for a unix: target where the native transport is missing
     *     (epoll on Linux, kqueue on macOS; no other system has one)
     */
    public JailerClient build() {
      if (target.startsWith(UNIX_PREFIX)) {
        unixPath(target);
        checkArgument(caPem == null, "TLS is for host:port targets, not %s", target);
      } else {
        HostPort.parse(target);
      }
      return new JailerClient(this);
    }

    private ChannelCredentials credentials() {
      if (caPem == null) {
        return InsecureChannelCredentials.create();
      }
      try {
        TlsChannelCredentials.Builder tls =
            TlsChannelCredentials.newBuilder().trustManager(caPem.toFile());
        if (certPem != null) {
          tls.keyManager(certPem.toFile(), keyPem.toFile());
        }
        return tls.build();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the TLS files for " + target, e);
      }
    }
  }
}
