package dev.jailer.server;

import static dev.jailer.server.ServerTestSupport.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import dev.jailer.client.JailerClient;
import dev.jailer.core.Platform;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.server.ServerTestSupport.CannedJailer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The server's Unix socket listener on macOS, where Netty's kqueue transport carries it, called
 * by the Java client over kqueue too. Only macOS has kqueue, so this test skips elsewhere, in CI
 * too.
 */
class JailerServerMacUnixTest {
  @Test
  void start_unixSocketOnMacOs_servesClientOverKqueue() throws Exception {
    Prerequisites.requireHostFeature(
        Platform.current() == Platform.MACOS, "the kqueue transport exists only on macOS");
    // Not @TempDir: below /var/folders a socket path comes close to macOS's 103 bytes.
    Path root = Files.createTempDirectory(Path.of("/tmp"), "jsv");
    try {
      Path socket = root.resolve("run/jailer.sock");
      JailerServer server =
          JailerServer.start(
              options("--listen", "unix:" + socket), new CannedJailer(), Optional.empty());
      try (JailerClient client = JailerClient.create("unix:" + socket)) {
        assertEquals(List.of("unix:" + socket), server.targets());
        assertEquals(2, client.list().size());
        assertEquals(
            "rw-------",
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)));
      } finally {
        server.shutdown(Duration.ZERO);
      }
      assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
    } finally {
      MoreFiles.deleteRecursively(root, RecursiveDeleteOption.ALLOW_INSECURE);
    }
  }
}
