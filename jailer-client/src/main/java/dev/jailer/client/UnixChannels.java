package dev.jailer.client;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Channels to a Unix socket: the one place the client chooses a Netty transport by platform.
 * Linux uses epoll from the shaded transport; macOS uses kqueue from the unshaded
 * {@code grpc-netty} with Netty's native kqueue jars, because the shaded transport carries only
 * epoll; any other system has no Unix socket transport (connect over {@code host:port}).
 */
final class UnixChannels {
  /** The host platforms this class tells apart. */
  enum Os {
    LINUX,
    MACOS,
    OTHER;

    /** The system this JVM runs on. */
    static Os current() {
      String name = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
      if (name.startsWith("linux")) {
        return LINUX;
      }
      return name.startsWith("mac") || name.startsWith("darwin") ? MACOS : OTHER;
    }
  }

  /**
   * A built channel and the way to end the event loop it owns.
   *
   * @param channel the channel
   * @param shutdownEventLoop ends the event loop (call after the channel terminated); true when
   *     it ended in time
   */
  record Built(ManagedChannel channel, BooleanSupplier shutdownEventLoop) {}

  private UnixChannels() {}

  /** The name of the transport {@code os} uses: "epoll", "kqueue" or "none". */
  static String transportName(Os os) {
    return switch (os) {
      case LINUX -> "epoll";
      case MACOS -> "kqueue";
      case OTHER -> "none";
    };
  }

  /** Why {@code os}'s transport cannot run in this JVM; empty when it can. */
  static Optional<Throwable> unavailabilityCause(Os os) {
    return switch (os) {
      case LINUX -> Optional.ofNullable(
          io.grpc.netty.shaded.io.netty.channel.epoll.Epoll.unavailabilityCause());
      case MACOS -> Optional.ofNullable(io.netty.channel.kqueue.KQueue.unavailabilityCause());
      case OTHER -> Optional.of(new UnsupportedOperationException(
          "Jailer carries native transports for Linux (epoll) and macOS (kqueue) only"));
    };
  }

  /**
   * A channel to {@code socket} with its own single-thread event loop.
   *
   * @throws IllegalStateException when {@code os}'s transport cannot run here, naming the cause
   */
  static Built build(
      Os os, Path socket, ChannelCredentials credentials, Executor executor, String threadName) {
    Optional<Throwable> cause = unavailabilityCause(os);
    if (cause.isPresent()) {
      throw new IllegalStateException(
          "a unix: target needs Netty's " + transportName(os) + " transport, which is "
              + "unavailable here (" + cause.get().getMessage() + "); connect over host:port "
              + "instead",
          cause.get());
    }
    return os == Os.MACOS
        ? kqueue(socket, credentials, executor, threadName)
        : epoll(socket, credentials, executor, threadName);
  }

  private static Built epoll(
      Path socket, ChannelCredentials credentials, Executor executor, String threadName) {
    io.grpc.netty.shaded.io.netty.channel.EventLoopGroup loop =
        new io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup(
            1,
            new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory(
                threadName, true),
            io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler.newFactory());
    ManagedChannelBuilder<?> builder =
        io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress(
                new io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress(
                    socket.toString()),
                credentials)
            .channelType(
                io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel.class)
            // gRPC asks for TCP keepalive on every socket; a Unix socket has none, and Netty
            // would warn on each connection. A null value removes the option.
            .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_KEEPALIVE, null)
            .eventLoopGroup(loop);
    return new Built(
        finish(builder, executor),
        () -> loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10_000));
  }

  private static Built kqueue(
      Path socket, ChannelCredentials credentials, Executor executor, String threadName) {
    io.netty.channel.EventLoopGroup loop =
        new io.netty.channel.MultiThreadIoEventLoopGroup(
            1,
            new io.netty.util.concurrent.DefaultThreadFactory(threadName, true),
            io.netty.channel.kqueue.KQueueIoHandler.newFactory());
    ManagedChannelBuilder<?> builder =
        io.grpc.netty.NettyChannelBuilder.forAddress(
                new io.netty.channel.unix.DomainSocketAddress(socket.toString()), credentials)
            .channelType(io.netty.channel.kqueue.KQueueDomainSocketChannel.class)
            .withOption(io.netty.channel.ChannelOption.SO_KEEPALIVE, null)
            .eventLoopGroup(loop);
    return new Built(
        finish(builder, executor),
        () -> loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10_000));
  }

  private static ManagedChannel finish(ManagedChannelBuilder<?> builder, Executor executor) {
    // A path is no valid HTTP/2 authority; the server does not look at it.
    return builder.overrideAuthority("localhost").executor(executor).build();
  }
}
