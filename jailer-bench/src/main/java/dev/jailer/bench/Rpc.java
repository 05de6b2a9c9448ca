package dev.jailer.bench;

import dev.jailer.v1.JailerGrpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One client connection to the server's Unix socket, with the Jailer and the health stubs on
 * the same channel, so that a comparison of the two measures the calls and not the transport.
 */
final class Rpc implements AutoCloseable {
  private final EventLoopGroup loop;
  private final ManagedChannel channel;
  final JailerGrpc.JailerBlockingStub jailer;
  final HealthGrpc.HealthBlockingStub health;

  Rpc(Path socket) {
    loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    channel =
        NettyChannelBuilder.forAddress(
                new DomainSocketAddress(socket.toString()), InsecureChannelCredentials.create())
            .channelType(EpollDomainSocketChannel.class)
            .withOption(ChannelOption.SO_KEEPALIVE, null)
            .overrideAuthority("localhost")
            .eventLoopGroup(loop)
            // Calls complete on the event loop's thread: no hand-off to a pool per call.
            .directExecutor()
            .build();
    jailer = JailerGrpc.newBlockingStub(channel);
    health = HealthGrpc.newBlockingStub(channel);
  }

  /** The Jailer stub with a deadline of {@code seconds} from now. */
  JailerGrpc.JailerBlockingStub jailer(long seconds) {
    return jailer.withDeadlineAfter(seconds, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
  }
}
