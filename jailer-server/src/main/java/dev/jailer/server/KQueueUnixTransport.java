package dev.jailer.server;

import io.grpc.ServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.kqueue.KQueue;
import io.netty.channel.kqueue.KQueueIoHandler;
import io.netty.channel.kqueue.KQueueServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * macOS: Unix socket listeners on the unshaded {@code grpc-netty} with Netty's kqueue transport
 * ({@code netty-transport-native-kqueue}, x86_64 and aarch64). The shaded transport carries
 * only epoll, so this is the one place the unshaded Netty is used.
 */
final class KQueueUnixTransport extends UnixTransport {
  private EventLoopGroup boss;
  private EventLoopGroup workers;

  @Override
  String name() {
    return "kqueue";
  }

  @Override
  Optional<Throwable> unavailabilityCause() {
    return Optional.ofNullable(KQueue.unavailabilityCause());
  }

  @Override
  ServerBuilder<?> newBuilder(Path socket) {
    if (boss == null) {
      boss = group(1, "jailer-uds-boss");
      workers = group(0, "jailer-uds");
    }
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(KQueueServerDomainSocketChannel.class)
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        // As with epoll: gRPC's TCP keepalive means nothing on a Unix socket.
        .withChildOption(ChannelOption.SO_KEEPALIVE, null);
  }

  private static EventLoopGroup group(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(name, true), KQueueIoHandler.newFactory());
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
