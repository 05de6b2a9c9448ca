package dev.jailer.server;

import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Linux: Unix socket listeners on the shaded transport's epoll. */
final class EpollUnixTransport extends UnixTransport {
  private EventLoopGroup boss;
  private EventLoopGroup workers;

  @Override
  String name() {
    return "epoll";
  }

  @Override
  Optional<Throwable> unavailabilityCause() {
    return Optional.ofNullable(Epoll.unavailabilityCause());
  }

  @Override
  ServerBuilder<?> newBuilder(Path socket) {
    if (boss == null) {
      boss = group(1, "jailer-uds-boss");
      workers = group(0, "jailer-uds");
    }
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        // gRPC asks for TCP keepalive on accepted sockets; a Unix socket has none and Netty
        // would warn on every connection. A null value removes the option.
        .withChildOption(ChannelOption.SO_KEEPALIVE, null);
  }

  private static EventLoopGroup group(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(name, true), EpollIoHandler.newFactory());
  }

  @Override
  void shutdown() {
    for (EventLoopGroup group : new EventLoopGroup[] {boss, workers}) {
      if (group != null) {
        // Every channel is closed by now, so no quiet period is needed.
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
      }
    }
  }
}
