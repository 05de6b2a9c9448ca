package dev.jailer.server;

import dev.jailer.core.Platform;
import io.grpc.ServerBuilder;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The Netty transport that carries the server's Unix socket listeners: the one place the server
 * chooses one by platform.
 *
 * <ul>
 *   <li>Linux: epoll from the shaded transport ({@code grpc-netty-shaded}), which is all that
 *       transport carries natively;
 *   <li>macOS: kqueue, from the unshaded {@code grpc-netty} with Netty's own
 *       {@code netty-transport-native-kqueue} for x86_64 and aarch64. Shaded and unshaded
 *       Netty live side by side in separate packages; TCP listeners keep using the shaded one
 *       on every platform;
 *   <li>any other system: none; such a server listens on loopback TCP.
 * </ul>
 *
 * <p>A transport creates its event loops on the first listener and shares them between all of
 * its listeners; {@link #shutdown()} ends them. Not thread-safe: one {@link JailerServer}
 * start-up uses it from one thread.
 */
abstract class UnixTransport {
  /** The transport for {@code platform}; creating it starts nothing and loads no native code. */
  static UnixTransport forPlatform(Platform platform) {
    return switch (platform) {
      case LINUX -> new EpollUnixTransport();
      case MACOS -> new KQueueUnixTransport();
      case OTHER -> new None();
    };
  }

  /** The transport's name as an operator knows it: "epoll", "kqueue", ... */
  abstract String name();

  /** Why the transport cannot run on this host; empty when it can. */
  abstract Optional<Throwable> unavailabilityCause();

  /**
   * A server builder that listens on {@code socket} through this transport.
   *
   * @throws ServerStartException when the transport cannot run here, naming the cause and what
   *     to do instead
   */
  final ServerBuilder<?> serverBuilder(Path socket) throws ServerStartException {
    Optional<Throwable> cause = unavailabilityCause();
    if (cause.isPresent()) {
      throw new ServerStartException(
          "cannot listen on unix:"
              + socket
              + ": Unix sockets need Netty's "
              + name()
              + " transport, unavailable here ("
              + cause.get().getMessage()
              + "); listen on loopback TCP instead",
          cause.get());
    }
    return newBuilder(socket);
  }

  /** A builder for {@code socket}; called only when the transport is available. */
  abstract ServerBuilder<?> newBuilder(Path socket);

  /** Ends the event loops, once every server built from this transport has terminated. */
  abstract void shutdown();

  /** Any other system: no native Unix socket transport. */
  private static final class None extends UnixTransport {
    @Override
    String name() {
      return "native Unix socket";
    }

    @Override
    Optional<Throwable> unavailabilityCause() {
      return Optional.of(
          new UnsupportedOperationException(
              "Jailer carries native transports for Linux (epoll) and macOS (kqueue) only"));
    }

    @Override
    ServerBuilder<?> newBuilder(Path socket) {
      throw new IllegalStateException("unreachable: the transport is unavailable");
    }

    @Override
    void shutdown() {}
  }
}
