package dev.jailer.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.InsecureChannelCredentials;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Which transport the client uses for unix: targets on which system. */
class UnixChannelsTest {
  @Test
  void transportName_perSystem() {
    assertEquals("epoll", UnixChannels.transportName(UnixChannels.Os.LINUX));
    assertEquals("kqueue", UnixChannels.transportName(UnixChannels.Os.MACOS));
    assertTrue(UnixChannels.unavailabilityCause(UnixChannels.Os.OTHER).isPresent());
  }

  @Test
  void unavailabilityCause_thisSystem_none() {
    assumeTrue(UnixChannels.Os.current() != UnixChannels.Os.OTHER, "no transport here");

    assertEquals(
        "nothing",
        UnixChannels.unavailabilityCause(UnixChannels.Os.current())
            .map(Throwable::toString)
            .orElse("nothing"));
  }

  @Test
  void build_kqueueOffMacOs_refusedWithHostPortAdvice() {
    assumeTrue(UnixChannels.Os.current() == UnixChannels.Os.LINUX, "kqueue is absent on Linux");
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () ->
                  UnixChannels.build(
                      UnixChannels.Os.MACOS,
                      Path.of("/x.sock"),
                      InsecureChannelCredentials.create(),
                      executor,
                      "test"));

      assertTrue(e.getMessage().startsWith("a unix: target needs Netty's kqueue transport"),
          e.getMessage());
      assertTrue(e.getMessage().endsWith("connect over host:port instead"), e.getMessage());
    } finally {
      executor.shutdownNow();
    }
  }
}
