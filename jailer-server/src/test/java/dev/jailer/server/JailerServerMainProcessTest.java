package dev.jailer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.client.ErrorCode;
import dev.jailer.client.JailerClient;
import dev.jailer.client.JailerClientException;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@link JailerServerMain} as a real process, as an init system would. */
class JailerServerMainProcessTest {
  @TempDir Path tmp;

  private Process process;

  @AfterEach
  void killLeftover() throws Exception {
    if (process != null && process.isAlive()) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private Process launch(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(JailerServerMain.class.getName());
    command.addAll(List.of(args));
    process =
        new ProcessBuilder(command)
            .redirectOutput(tmp.resolve("stdout.txt").toFile())
            .redirectError(tmp.resolve("stderr.txt").toFile())
            .start();
    return process;
  }

  private String stdout() throws Exception {
    return Files.readString(tmp.resolve("stdout.txt"));
  }

  private String stderr() throws Exception {
    return Files.readString(tmp.resolve("stderr.txt"));
  }

  private int exitStatus(Process p) throws Exception {
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the server did not exit");
    return p.exitValue();
  }

  @Test
  void main_help_printsEveryFlagAndExitsZero() throws Exception {
    int status = exitStatus(launch("--help"));

    assertEquals(0, status);
    String help = stdout();
    for (ServerOptions.Flag flag : ServerOptions.Flag.values()) {
      assertTrue(help.contains(flag.name), flag.name + " missing from:\n" + help);
    }
  }

  @Test
  void main_unknownFlag_exitsTwoNamingIt() throws Exception {
    int status = exitStatus(launch("--state-dir", tmp.toString(), "--frobnicate"));

    assertEquals(2, status);
    assertTrue(stderr().startsWith("jailer-server: unknown flag --frobnicate\n"), stderr());
  }

  @Test
  void main_refusedListener_exitsOneWithReason() throws Exception {
    // --development keeps this test away from the host's cgroups: only the listener matters.
    int status = exitStatus(launch("--state-dir", tmp.toString(), "--development",
        "--listen", "0.0.0.0:7000"));

    assertEquals(1, status);
    assertTrue(stderr().contains("SEVERE JailerServerMain: cannot start: refusing to listen on"
        + " 0.0.0.0:7000 without mutual TLS"), stderr());
  }

  @Test
  void main_sigterm_stopsOrderlyWithStatusZeroAndRemovesSocket() throws Exception {
    Path socket = runUntilAnswering();

    process.destroy();

    assertEquals(0, exitStatus(process), stderr());
    assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
    String log = stderr();
    assertTrue(log.contains(" INFO JailerServer: listening on unix:" + socket), log);
    assertTrue(log.contains("SIGTERM received; stopping"), log);
    assertTrue(log.contains(" INFO JailerServer: stopped"), log);
  }

  @Test
  void main_sigint_stopsOrderlyWithStatusZero() throws Exception {
    runUntilAnswering();

    Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start();
    assertEquals(0, kill.waitFor());

    assertEquals(0, exitStatus(process), stderr());
    assertTrue(stderr().contains("SIGINT received; stopping"), stderr());
  }

  /** Starts the server with its default socket under a fresh state dir; waits until it answers. */
  private Path runUntilAnswering() throws Exception {
    Path state = tmp.resolve("state");
    Path socket = state.resolve("run/jailer.sock");
    launch("--state-dir", state.toString(), "--development", "--shutdown-grace", "2");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      assertTrue(process.isAlive(), () -> "server died: " + stderrQuietly());
      assertTrue(System.nanoTime() < deadline, "socket never appeared");
      Thread.sleep(50);
    }
    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      assertEquals(List.of(), client.list());
    }
    ManagedChannel channel = ServerTestSupport.unixChannel(socket);
    try {
      ServingStatus status =
          HealthGrpc.newBlockingStub(channel)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance())
              .getStatus();
      assertEquals(ServingStatus.SERVING, status);
    } finally {
      ServerTestSupport.close(channel);
    }
    assertTrue(stderr().contains("WARNING JailerServerMain: DEVELOPMENT MODE"), stderr());
    return socket;
  }

  private String stderrQuietly() {
    try {
      return stderr();
    } catch (Exception e) {
      return e.toString();
    }
  }
}
