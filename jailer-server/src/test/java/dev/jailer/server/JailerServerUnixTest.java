package dev.jailer.server;

import static dev.jailer.server.ServerTestSupport.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.client.ErrorCode;
import dev.jailer.client.JailerClient;
import dev.jailer.client.JailerClientException;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.server.ServerTestSupport.CannedJailer;
import dev.jailer.v1.JailerGrpc;
import dev.jailer.v1.StopRequest;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JailerServerUnixTest {
  @TempDir Path tmp;

  private final List<JailerServer> servers = new ArrayList<>();

  @AfterEach
  void stopServers() {
    servers.forEach(s -> s.shutdown(Duration.ZERO));
  }

  private JailerServer start(Path socket) throws Exception {
    return start(socket, new CannedJailer());
  }

  private JailerServer start(Path socket, CannedJailer service) throws Exception {
    JailerServer server =
        JailerServer.start(options("--listen", "unix:" + socket), service, Optional.empty());
    servers.add(server);
    return server;
  }

  private static void privateDir(Path dir) throws Exception {
    Files.createDirectory(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }

  private static String mode(Path path) throws Exception {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
  }

  private static int listOver(Path socket) {
    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      return client.list().size();
    }
  }

  @Test
  void start_missingDirectory_createsOwnerOnlyDirAndSocket() throws Exception {
    Path socket = tmp.resolve("state/run/jailer.sock");

    JailerServer server = start(socket);

    assertEquals("rwx------", mode(socket.getParent()));
    assertEquals("rwx------", mode(socket.getParent().getParent()));
    assertEquals("rw-------", mode(socket));
    assertEquals(List.of("unix:" + socket), server.targets());
    assertEquals(2, listOver(socket));
  }

  @Test
  void start_directoryOpenToGroup_refusedWithChmodAdvice() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
    Path socket = dir.resolve("j.sock");

    ServerStartException e = assertThrows(ServerStartException.class, () -> start(socket));

    assertEquals(
        "refusing to listen on unix:"
            + socket
            + ": its directory "
            + dir
            + " has mode rwxr-x---, which lets other users reach the socket; run 'chmod 0700 "
            + dir
            + "'",
        e.getMessage());
    assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void start_directoryOwnedByAnotherUser_refusedWithChownAdvice() throws Exception {
    Prerequisites.require(UnixSocketPaths.processUid() == 0, "root, to give a directory away");
    Path dir = Files.createDirectory(tmp.resolve("theirs"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Files.setAttribute(dir, "unix:uid", 4242);

    ServerStartException e =
        assertThrows(ServerStartException.class, () -> start(dir.resolve("j.sock")));

    assertTrue(
        e.getMessage().contains("is owned by uid 4242, not by this server's uid 0; run 'chown 0 "),
        e.getMessage());
  }

  @Test
  void start_staleSocketFromCrash_isReplacedAndServes() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    privateDir(socket.getParent());
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(socket));
    }
    assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "close leaves the file behind");

    start(socket);

    assertEquals(2, listOver(socket));
    assertEquals("rw-------", mode(socket));
  }

  @Test
  void start_socketHeldByLiveServer_refusedAndFirstServerStillAnswers() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    start(socket);

    ServerStartException e = assertThrows(ServerStartException.class, () -> start(socket));

    assertEquals(
        "refusing to listen on unix:"
            + socket
            + ": another live server accepts connections there; stop it or choose another"
            + " --listen path",
        e.getMessage());
    assertEquals(2, listOver(socket));
  }

  @Test
  void start_regularFileAtSocketPath_refusedAndFileKept() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    privateDir(socket.getParent());
    Files.writeString(socket, "precious");

    ServerStartException e = assertThrows(ServerStartException.class, () -> start(socket));

    assertTrue(e.getMessage().contains("the path exists and is not a socket"), e.getMessage());
    assertEquals("precious", Files.readString(socket));
  }

  @Test
  void start_pathOverLimit_refusedWithLengthAndLimit() {
    Path socket = tmp.resolve("d".repeat(120) + ".sock");
    int length = socket.toString().length();

    ServerStartException e = assertThrows(ServerStartException.class, () -> start(socket));

    assertTrue(
        e.getMessage().contains("is " + length + " bytes, over the limit of 107"), e.getMessage());
  }

  @Test
  void start_secondListenerFails_firstIsClosedAgain() throws Exception {
    Path good = tmp.resolve("a/ok.sock");
    Path bad = tmp.resolve("b/bad.sock");
    Files.createDirectory(bad.getParent());
    Files.setPosixFilePermissions(bad.getParent(), PosixFilePermissions.fromString("rwxrwxrwx"));
    ServerOptions options = options("--listen", "unix:" + good, "--listen", "unix:" + bad);

    assertThrows(
        ServerStartException.class,
        () -> JailerServer.start(options, new CannedJailer(), Optional.empty()));

    assertFalse(Files.exists(good, LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void shutdown_removesSocketFile() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    JailerServer server = start(socket);

    server.shutdown(Duration.ofSeconds(1));

    assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
    server.awaitTermination();
  }

  @Test
  void shutdown_callInFlightWithinGrace_completesNormally() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    CannedJailer service = new CannedJailer();
    service.stopMillis = 1_000;
    JailerServer server = start(socket, service);
    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      CompletableFuture<String> stopped =
          CompletableFuture.supplyAsync(
              () -> client.stop(StopRequest.newBuilder().setBoxId("x").build()).getBoxId());
      assertTrue(service.stopStarted.await(10, TimeUnit.SECONDS));

      server.shutdown(Duration.ofSeconds(10));

      assertEquals("x", stopped.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void shutdown_callOutlastingGrace_isCancelledAfterGrace() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    CannedJailer service = new CannedJailer();
    service.stopMillis = 20_000;
    JailerServer server = start(socket, service);
    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      CompletableFuture<Object> stopped =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return client.stop(StopRequest.newBuilder().setBoxId("x").build());
                } catch (JailerClientException e) {
                  return e.code();
                }
              });
      assertTrue(service.stopStarted.await(10, TimeUnit.SECONDS));
      long start = System.nanoTime();

      server.shutdown(Duration.ofMillis(500));

      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(millis >= 450 && millis < 8_000, "shutdown took " + millis + " ms");
      Object outcome = stopped.get(10, TimeUnit.SECONDS);
      assertTrue(
          outcome == ErrorCode.UNAVAILABLE || outcome == ErrorCode.CANCELLED,
          "call ended with " + outcome);
    }
  }

  @Test
  void unimplementedService_answersUnimplemented() throws Exception {
    Path socket = tmp.resolve("run/jailer.sock");
    JailerServer server =
        JailerServer.start(
            options("--listen", "unix:" + socket),
            new JailerGrpc.JailerImplBase() {},
            Optional.empty());
    servers.add(server);

    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      JailerClientException e = assertThrows(JailerClientException.class, client::list);
      assertEquals(ErrorCode.UNIMPLEMENTED, e.code());
    }
  }
}
