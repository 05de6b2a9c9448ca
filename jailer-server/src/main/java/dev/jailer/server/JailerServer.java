package dev.jailer.server;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.Platform;
import dev.jailer.v1.JailerGrpc;
import io.grpc.BindableService;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The running gRPC server: the Jailer service, health ({@code grpc.health.v1}) and reflection
 * ({@code grpc.reflection.v1}) on every address of {@link ServerOptions#listenAddresses()}.
 *
 * <p>Who may listen where (DESIGN §7): a Unix socket is made mode 0600 inside a directory only
 * the server's user can enter; a loopback TCP address needs mutual TLS or
 * {@code --insecure-loopback-tcp}; any other TCP address needs mutual TLS. Unix sockets carry
 * no TLS: their file mode is the access check.
 *
 * <p>Health reports SERVING for the whole server ({@code ""}) and for {@code jailer.v1.Jailer},
 * or NOT_SERVING while a sandbox problem is set (the host cannot build the sandbox, so spawns
 * would fail).
 *
 * <p>Thread-safe.
 */
public final class JailerServer {
  private static final Logger logger = Logger.getLogger(JailerServer.class.getName());

  /** How long {@link #shutdown} waits for cancelled calls after the grace period. */
  private static final Duration AFTER_CANCEL_WAIT = Duration.ofSeconds(5);

  private final List<Server> servers;
  private final ImmutableList<String> targets;
  private final List<OwnedSocket> sockets;
  private final UnixTransport unixTransport;
  private final HealthStatusManager health;
  private final Duration defaultGrace;
  private boolean stopped;

  private JailerServer(Starter starter, Duration defaultGrace) {
    this.servers = List.copyOf(starter.servers);
    this.targets = ImmutableList.copyOf(starter.targets);
    this.sockets = List.copyOf(starter.sockets);
    this.unixTransport = starter.unixTransport;
    this.health = starter.health;
    this.defaultGrace = defaultGrace;
  }

  /**
   * Starts listening on every address of {@code options}, serving {@code service}, health and
   * reflection. Every listener is checked before any is bound; if one cannot start, those
   * already started are stopped again.
   *
   * @param sandboxProblem why the sandbox cannot be built on this host, with the fix; present
   *     makes health NOT_SERVING (see {@link #setSandboxProblem})
   * @throws ServerStartException when a listener is refused by policy or cannot be bound
   */
  public static JailerServer start(
      ServerOptions options, BindableService service, Optional<String> sandboxProblem)
      throws ServerStartException {
    requireNonNull(options, "options");
    requireNonNull(service, "service");
    requireNonNull(sandboxProblem, "sandboxProblem");
    for (ListenAddress address : options.listenAddresses()) {
      checkPolicy(options, address);
    }

    Starter starter = new Starter(options, service);
    try {
      for (ListenAddress address : options.listenAddresses()) {
        starter.listen(address);
      }
    } catch (ServerStartException | RuntimeException e) {
      starter.abort();
      throw e;
    }

    JailerServer server = new JailerServer(starter, options.shutdownGrace());
    server.setSandboxProblem(sandboxProblem);
    return server;
  }

  /**
   * Every address the server listens on, as a {@code dev.jailer.client.JailerClient} target:
   * {@code unix:/path} or {@code host:port} with the port actually bound (useful with port 0).
   */
  public List<String> targets() {
    return targets;
  }

  /**
   * Sets or clears the reason the host cannot build the sandbox. Present: health becomes
   * NOT_SERVING and the reason is logged at WARNING; empty: SERVING again. Ignored after
   * {@link #shutdown}.
   */
  public synchronized void setSandboxProblem(Optional<String> problem) {
    requireNonNull(problem, "problem");
    if (stopped) {
      return;
    }
    ServingStatus status = problem.isPresent() ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
    health.setStatus(JailerGrpc.SERVICE_NAME, status);
    if (problem.isPresent()) {
      logger.warning("health NOT_SERVING: the sandbox cannot be built: " + problem.get());
    } else {
      logger.fine("health SERVING");
    }
  }

  /** Stops with the grace period of the options the server started with. */
  public void shutdown() {
    shutdown(defaultGrace);
  }

  /**
   * Stops the server: health turns NOT_SERVING, new calls are refused, calls in flight get up to
   * {@code grace} to finish, then the rest are cancelled. Removes the Unix socket files it
   * created and ends its threads. Idempotent; a second caller waits until the first is done.
   * Returns early only if interrupted (the interrupt flag is then set).
   */
  public synchronized void shutdown(Duration grace) {
    if (stopped) {
      return;
    }
    stopped = true;
    health.enterTerminalState();
    for (Server server : servers) {
      server.shutdown();
    }
    try {
      long deadline = System.nanoTime() + grace.toNanos();
      boolean clean = true;
      for (Server server : servers) {
        long left = Math.max(0, deadline - System.nanoTime());
        clean &= server.awaitTermination(left, TimeUnit.NANOSECONDS);
      }
      if (!clean) {
        logger.info("calls still running after the grace of " + grace + "; cancelling them");
        for (Server server : servers) {
          server.shutdownNow();
        }
        for (Server server : servers) {
          server.awaitTermination(AFTER_CANCEL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    } catch (InterruptedException e) {
      servers.forEach(Server::shutdownNow);
      Thread.currentThread().interrupt();
    }
    unixTransport.shutdown();
    for (OwnedSocket socket : sockets) {
      socket.delete();
    }
    logger.info("stopped");
  }

  /** Blocks until every listener has terminated (after {@link #shutdown}). */
  public void awaitTermination() throws InterruptedException {
    for (Server server : servers) {
      server.awaitTermination();
    }
  }

  /** Refuses a TCP listener that DESIGN §7 does not allow; Unix listeners pass. */
  static void checkPolicy(ServerOptions options, ListenAddress address)
      throws ServerStartException {
    if (address.isUnix() || options.tls().isPresent()) {
      return;
    }
    String host = address.host().orElseThrow();
    if (!isLoopback(host)) {
      throw new ServerStartException(
          "refusing to listen on "
              + address
              + " without mutual TLS: every host that can reach it could spawn processes;"
              + " pass --tls-cert, --tls-key and --tls-client-ca");
    }
    if (!options.insecureLoopbackTcp()) {
      throw new ServerStartException(
          "refusing plaintext TCP on "
              + address
              + ": every local user and every box with host networking can reach loopback;"
              + " pass --insecure-loopback-tcp to accept that, or configure mutual TLS");
    }
  }

  /**
   * True when {@code host} is "localhost" or names only loopback addresses (127.0.0.0/8,
   * ::1). A name that cannot be resolved is not loopback.
   */
  static boolean isLoopback(String host) {
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    try {
      InetAddress[] all = InetAddress.getAllByName(host);
      for (InetAddress a : all) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return all.length > 0;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static String target(SocketAddress bound) {
    if (bound instanceof InetSocketAddress inet) {
      String host = inet.getAddress().getHostAddress();
      if (host.indexOf(':') >= 0) {
        int scope = host.indexOf('%');
        host = "[" + (scope < 0 ? host : host.substring(0, scope)) + "]";
      }
      return host + ":" + inet.getPort();
    }
    return bound.toString();
  }

  /** A socket file this server created, identified by its file key so a successor's survives. */
  private record OwnedSocket(Path path, Object fileKey) {
    void delete() {
      try {
        BasicFileAttributes attrs =
            Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (Objects.equals(attrs.fileKey(), fileKey)) {
          Files.delete(path);
        }
      } catch (java.nio.file.NoSuchFileException e) {
        // Netty already unlinked it when the listening channel closed.
        return;
      } catch (IOException e) {
        logger.log(Level.WARNING, "cannot remove socket " + path + "; delete it by hand", e);
      }
    }
  }

  /** Binds listeners one by one and can undo what it bound. */
  private static final class Starter {
    final ServerOptions options;
    final ServerServiceDefinition jailer;
    final HealthStatusManager health = new HealthStatusManager();
    final BindableService reflection = ProtoReflectionServiceV1.newInstance();
    final List<Server> servers = new ArrayList<>();
    final List<String> targets = new ArrayList<>();
    final List<OwnedSocket> sockets = new ArrayList<>();
    final UnixTransport unixTransport = UnixTransport.forPlatform(Platform.current());

    Starter(ServerOptions options, BindableService service) {
      this.options = options;
      this.jailer = service.bindService();
    }

    void listen(ListenAddress address) throws ServerStartException {
      if (address.isUnix()) {
        listenUnix(address);
      } else {
        listenTcp(address);
      }
    }

    private ServerBuilder<?> services(ServerBuilder<?> builder) {
      return builder
          .addService(jailer)
          .addService(health.getHealthService())
          .addService(reflection)
          .intercept(new CallLogInterceptor());
    }

    private void listenUnix(ListenAddress address) throws ServerStartException {
      Path path = address.unixPath().orElseThrow();
      // The transport first: one that cannot run here leaves no directory behind.
      ServerBuilder<?> builder = unixTransport.serverBuilder(path);
      UnixSocketPaths.prepare(path);
      Server server = startServer(services(builder), address);
      try {
        Files.setPosixFilePermissions(path, UnixSocketPaths.OWNER_ONLY_SOCKET);
        Object key =
            Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .fileKey();
        sockets.add(new OwnedSocket(path, key));
      } catch (IOException e) {
        throw new ServerStartException("cannot make socket " + path + " mode 0600: " + e, e);
      }
      targets.add(address.toString());
      logger.info("listening on " + address);
    }

    private void listenTcp(ListenAddress address) throws ServerStartException {
      String host = address.host().orElseThrow();
      InetSocketAddress bind = new InetSocketAddress(host, address.port());
      if (bind.isUnresolved()) {
        throw new ServerStartException("cannot listen on " + address + ": unknown host " + host);
      }
      ServerCredentials credentials;
      Optional<ServerOptions.TlsFiles> tls = options.tls();
      if (tls.isPresent()) {
        credentials = mutualTls(tls.get());
      } else {
        credentials = InsecureServerCredentials.create();
      }
      NettyServerBuilder builder = NettyServerBuilder.forAddress(bind, credentials);
      Server server = startServer(services(builder), address);
      String bound = target(server.getListenSockets().get(0));
      targets.add(bound);
      if (tls.isPresent()) {
        logger.info("listening on " + bound + " with mutual TLS");
      } else {
        logger.warning(
            "listening on "
                + bound
                + " WITHOUT TLS (--insecure-loopback-tcp): every local user can call it");
      }
    }

    private static ServerCredentials mutualTls(ServerOptions.TlsFiles tls)
        throws ServerStartException {
      try {
        return TlsServerCredentials.newBuilder()
            .keyManager(tls.cert().toFile(), tls.key().toFile())
            .trustManager(tls.clientCa().toFile())
            .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
            .build();
      } catch (IOException | RuntimeException e) {
        throw new ServerStartException(
            "cannot load the TLS files (--tls-cert "
                + tls.cert()
                + ", --tls-key "
                + tls.key()
                + ", --tls-client-ca "
                + tls.clientCa()
                + "): "
                + e.getMessage(),
            e);
      }
    }

    private Server startServer(ServerBuilder<?> builder, ListenAddress address)
        throws ServerStartException {
      Server server;
      try {
        server = builder.build().start();
      } catch (IOException | RuntimeException e) {
        throw new ServerStartException(
            "cannot listen on " + address + ": " + describe(e), e);
      }
      servers.add(server);
      return server;
    }

    private static String describe(Throwable e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + root + ")";
    }

    void abort() {
      for (Server server : servers) {
        server.shutdownNow();
      }
      for (Server server : servers) {
        try {
          server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      unixTransport.shutdown();
      for (OwnedSocket socket : sockets) {
        socket.delete();
      }
    }
  }
}
