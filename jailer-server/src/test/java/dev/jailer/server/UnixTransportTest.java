package dev.jailer.server;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.Platform;
import dev.jailer.core.testing.Prerequisites;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Which transport carries Unix sockets on which platform, and the socket path limits. */
class UnixTransportTest {
  /** An absolute path of exactly {@code bytes} bytes. */
  private static Path pathOf(int bytes) {
    return Path.of("/" + "s".repeat(bytes - 1));
  }

  @Test
  void forPlatform_eachPlatform_itsOwnTransport() {
    assertEquals("epoll", UnixTransport.forPlatform(Platform.LINUX).name());
    assertEquals("kqueue", UnixTransport.forPlatform(Platform.MACOS).name());
    assertTrue(UnixTransport.forPlatform(Platform.OTHER).unavailabilityCause().isPresent());
  }

  @Test
  void forPlatform_thisHost_transportAvailable() {
    Prerequisites.requireHostFeature(
        Platform.current() != Platform.OTHER, "a Unix socket transport on this system");

    assertEquals(
        "nothing",
        UnixTransport.forPlatform(Platform.current())
            .unavailabilityCause()
            .map(Throwable::toString)
            .orElse("nothing"));
  }

  @Test
  void serverBuilder_kqueueOnLinux_refusedWithLoopbackAdvice() {
    Prerequisites.requireHostFeature(
        Platform.current() == Platform.LINUX, "a host without kqueue (Linux)");
    UnixTransport kqueue = UnixTransport.forPlatform(Platform.MACOS);

    ServerStartException e =
        assertThrows(ServerStartException.class, () -> kqueue.serverBuilder(Path.of("/x.sock")));

    assertTrue(e.getMessage().startsWith(
        "cannot listen on unix:/x.sock: Unix sockets need Netty's kqueue transport, unavailable"
            + " here ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("); listen on loopback TCP instead"), e.getMessage());
    kqueue.shutdown();
  }

  @Test
  void checkLength_macOs_103BytesAllowed104Refused() throws Exception {
    assertDoesNotThrow(() -> UnixSocketPaths.checkLength(pathOf(103), Platform.MACOS));

    ServerStartException e =
        assertThrows(
            ServerStartException.class,
            () -> UnixSocketPaths.checkLength(pathOf(104), Platform.MACOS));

    assertTrue(e.getMessage().contains("is 104 bytes, over the limit of 103"), e.getMessage());
  }

  @Test
  void checkLength_linux_107BytesAllowed108Refused() {
    assertDoesNotThrow(() -> UnixSocketPaths.checkLength(pathOf(107), Platform.LINUX));
    assertThrows(
        ServerStartException.class,
        () -> UnixSocketPaths.checkLength(pathOf(108), Platform.LINUX));
  }
}
