package dev.jailer.core.sandbox.macos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import com.sun.security.auth.module.UnixSystem;
import dev.jailer.core.BoxUsers;
import dev.jailer.core.Jailer;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.Limits;
import dev.jailer.core.sandbox.Spawners;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.testing.Prerequisites;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Stages and spawns real programs through {@link Jailer} under the real {@code sandbox-exec}.
 * Only macOS has it, so this is the one kind of test that skips on Linux, in CI too.
 *
 * <p>The shims are copies of {@code /bin/cat} and {@code /bin/sleep}: platform binaries that
 * read what they are told to and run until stopped.
 */
class SeatbeltSpawnMacTest {
  private static final Limits NO_REQUEST = new Limits(0, 0, 0, 0, 0, 0, 0, 0);

  private Path root;
  private Path shimDir;
  private Jailer jailer;

  @BeforeEach
  void setUp() throws Exception {
    Prerequisites.requireHostFeature(
        Platform.current() == Platform.MACOS, "/usr/bin/sandbox-exec exists only on macOS");
    Prerequisites.requireHostFeature(
        new UnixSystem().getUid() != 0, "a non-root user: a root server refuses to spawn");
    // Not @TempDir: below /var/folders the box's socket directory exceeds macOS's 103 bytes.
    root = Files.createTempDirectory(Path.of("/tmp"), "jsb");
    shimDir = Files.createDirectories(root.resolve("opt"));
    Files.copy(Path.of("/bin/cat"), shimDir.resolve("cat-shim"),
        StandardCopyOption.COPY_ATTRIBUTES);
    Files.copy(Path.of("/bin/sleep"), shimDir.resolve("sleep-shim"),
        StandardCopyOption.COPY_ATTRIBUTES);
    Files.writeString(shimDir.resolve("libkrunfw.5.dylib"), "original krunfw\n");
    JailerConfig config =
        new JailerConfig(root.resolve("state"), Platform.MACOS, ImmutableList.of(shimDir),
            ImmutableList.of(), ImmutableList.of(), "jailer-test", BoxUsers.fixed("nobody"),
            JailerConfig.DEFAULT_LIMITS, Duration.ofSeconds(5), false);
    jailer = new Jailer(config, Spawners.forHost(config));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (jailer != null) {
      jailer.close();
    }
    if (root != null) {
      MoreFiles.deleteRecursively(root, RecursiveDeleteOption.ALLOW_INSECURE);
    }
  }

  private static SpawnOptions options(String... args) {
    return new SpawnOptions(ImmutableList.copyOf(args), ImmutableMap.of(), false, NO_REQUEST,
        "", null);
  }

  private BoxView awaitExit(String boxId) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      BoxView view = jailer.inspect(boxId);
      if (view.state() == BoxState.EXITED) {
        return view;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("box " + boxId + " did not exit within 30 s");
  }

  @Test
  void spawn_catShim_readsGrantedFileButNotTheRest() throws Exception {
    assertTrue(jailer.sandboxProblem().isEmpty(), jailer.sandboxProblem().toString());
    BoxView staged = jailer.stage("b1", shimDir.resolve("cat-shim").toString(), List.of());
    Files.writeString(staged.layout().shared().resolve("hello.txt"), "granted\n");
    Path secret = Files.writeString(root.resolve("secret.txt"), "secret\n");

    jailer.spawn("b1", options(staged.layout().shared().resolve("hello.txt").toString(),
        secret.toString()), () -> false);
    BoxView ended = awaitExit("b1");

    assertEquals("granted\n", Files.readString(staged.layout().stdoutLog()));
    assertTrue(Files.readString(staged.layout().stderrLog()).contains("Operation not permitted"),
        Files.readString(staged.layout().stderrLog()));
    assertEquals(1, ended.exit().orElseThrow().exitCode());
    assertEquals("seatbelt", ended.spawn().orElseThrow().sandbox());
    assertTrue(Files.readString(SeatbeltSpawner.profileFile(staged.layout()))
        .contains("(deny default)"));
  }

  @Test
  void spawn_catShim_originalKrunfwMaskedOwnCopyReadable() throws Exception {
    BoxView staged = jailer.stage("b2", shimDir.resolve("cat-shim").toString(), List.of());

    jailer.spawn("b2", options(staged.layout().bin().resolve("libkrunfw.5.dylib").toString()),
        () -> false);
    BoxView own = awaitExit("b2");
    jailer.spawn("b2", options(shimDir.resolve("libkrunfw.5.dylib").toString()), () -> false);
    BoxView original = awaitExit("b2");

    assertEquals(0, own.exit().orElseThrow().exitCode());
    assertNotEquals(0, original.exit().orElseThrow().exitCode());
    assertEquals("original krunfw\n", Files.readString(staged.layout().stdoutLog()));
  }

  @Test
  void stop_sleepShim_endsWithSigterm() throws Exception {
    jailer.stage("b3", shimDir.resolve("sleep-shim").toString(), List.of());

    BoxView running = jailer.spawn("b3", options("60"), () -> false);
    BoxView stopped = jailer.stop("b3", Duration.ofSeconds(5));

    assertEquals(BoxState.RUNNING, running.state());
    assertTrue(running.pid().orElseThrow().pid() > 0);
    assertEquals(BoxState.EXITED, stopped.state());
    assertEquals(15, stopped.exit().orElseThrow().exitSignal());
    assertEquals(List.of("memory_bytes", "cpu_millis", "max_pids"),
        running.spawn().orElseThrow().unenforcedLimits());
  }
}
