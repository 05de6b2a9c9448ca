package dev.jailer.server;

import static dev.jailer.server.ServerTestSupport.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.client.ErrorCode;
import dev.jailer.client.FieldViolation;
import dev.jailer.client.JailerClient;
import dev.jailer.client.JailerClientException;
import dev.jailer.client.WatchHandle;
import dev.jailer.core.Jailer;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.core.testing.TestCgroups;
import dev.jailer.core.testing.ShimDirectory;
import dev.jailer.v1.Access;
import dev.jailer.v1.Box;
import dev.jailer.v1.BoxState;
import dev.jailer.v1.InspectRequest;
import dev.jailer.v1.ListRequest;
import dev.jailer.v1.PathGrant;
import dev.jailer.v1.RemoveRequest;
import dev.jailer.v1.SandboxKind;
import dev.jailer.v1.SpawnRequest;
import dev.jailer.v1.StageRequest;
import dev.jailer.v1.StagedFile;
import dev.jailer.v1.StopRequest;
import dev.jailer.v1.WatchEvent;
import dev.jailer.v1.WatchRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real server, the real service over the real core, reached through the real client on a
 * Unix socket and on loopback TCP.
 */
class JailerEndToEndTest {
  private static final String SHIM_SCRIPT =
      String.join("\n",
          "#!/bin/sh",
          "echo \"box says $1\"",
          "echo \"box complains\" >&2",
          "case \"$1\" in",
          "  sleep) exec sleep 600 ;;",
          "  exit) exit \"$2\" ;;",
          "esac",
          "");

  @TempDir Path tmp;
  private ShimDirectory shim;
  private String cgroupParent;
  private Jailer jailer;
  private JailerServer server;
  private JailerClient unixClient;
  private JailerClient tcpClient;

  @BeforeEach
  void setUp() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    shim = ShimDirectory.create(tmp.resolve("opt/shim"));
    shim.write("box-shim", SHIM_SCRIPT, "rwxr-xr-x");
    cgroupParent = TestCgroups.newParent();
    ServerOptions options =
        options(
            "--state-dir", tmp.resolve("state").toString(),
            "--listen", "unix:" + tmp.resolve("run/jailer.sock"),
            "--listen", "127.0.0.1:0",
            "--insecure-loopback-tcp",
            "--allow-shim-dir", shim.dir().toString(),
            "--allow-volume-root", Files.createDirectories(tmp.resolve("volumes")).toString(),
            "--cgroup-parent", cgroupParent);
    JailerServerMain.Wiring wiring = JailerServerMain.createService(options);
    jailer = wiring.jailer();
    server = JailerServer.start(options, wiring.service(), wiring.sandboxProblem());
    unixClient = JailerClient.create(server.targets().get(0));
    tcpClient = JailerClient.create(server.targets().get(1));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (server == null) {
      return;
    }
    for (Box box : unixClient.list()) {
      unixClient.remove(RemoveRequest.newBuilder().setBoxId(box.getBoxId()).setForce(true)
          .build());
    }
    unixClient.close();
    tcpClient.close();
    server.shutdown(Duration.ofSeconds(1));
    jailer.close();
    TestCgroups.removeParent(cgroupParent);
  }

  private JailerClient client(String transport) {
    return transport.equals("unix") ? unixClient : tcpClient;
  }

  private Box stage(JailerClient client, String boxId) {
    return client.stage(
        StageRequest.newBuilder().setBoxId(boxId).setShimPath(shim.shim().toString()).build());
  }

  private void requireSandbox() {
    Prerequisites.require(jailer.sandboxProblem().isEmpty(),
        "a host that can sandbox: " + jailer.sandboxProblem().orElse(""));
  }

  private Box awaitState(String boxId, BoxState state) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      Box box = unixClient.inspect(boxId);
      if (box.getState() == state) {
        return box;
      }
      Thread.sleep(10);
    }
    throw new AssertionError(boxId + " never reached " + state);
  }

  @ParameterizedTest
  @ValueSource(strings = {"unix", "tcp"})
  void stage_freshThenUnchanged_reportsFilesGrantsAndWhatWasCopied(String transport)
      throws Exception {
    JailerClient client = client(transport);

    Box first = stage(client, "box-" + transport);
    Box second = stage(client, "box-" + transport);

    assertEquals(BoxState.BOX_STATE_STAGED, first.getState());
    Map<String, StagedFile> files = first.getStagedFilesList().stream()
        .collect(Collectors.toMap(StagedFile::getName, Function.identity()));
    assertEquals(Set.of("box-shim", "libkrunfw.so", "libkrunfw.so.5", "libkrunfw.so.5.2.1"),
        files.keySet());
    assertTrue(files.values().stream().allMatch(StagedFile::getCopied));
    assertEquals("libkrunfw.so.5", files.get("libkrunfw.so").getLinkTarget());
    assertEquals(64, files.get("box-shim").getSha256().length());
    assertTrue(second.getStagedFilesList().stream().noneMatch(StagedFile::getCopied));
    String realShimDir = shim.dir().toRealPath().toString();
    PathGrant shimDir = first.getGrantsList().stream()
        .filter(g -> g.getPath().equals(realShimDir))
        .findFirst().orElseThrow();
    assertEquals(Access.ACCESS_READ_ONLY, shimDir.getAccess());
    assertTrue(shimDir.getReason().contains("libkrun"), shimDir.getReason());
    assertTrue(first.getGrantsList().stream().noneMatch(g -> g.getPath().endsWith("/jailer")));
    assertTrue(Files.isDirectory(Path.of(first.getBoxDir(), "bin")));
  }

  @Test
  void stage_badFields_invalidArgumentWithEveryFieldViolation() throws Exception {
    JailerClientException badId = assertThrows(JailerClientException.class,
        () -> stage(unixClient, "-bad"));
    JailerClientException badPaths = assertThrows(JailerClientException.class,
        () -> unixClient.stage(StageRequest.newBuilder().setBoxId("ok").setShimPath("rel")
            .addVolumes(dev.jailer.v1.Volume.newBuilder().setHostPath("/x").setGuestPath("y"))
            .build()));

    assertEquals(ErrorCode.INVALID_ARGUMENT, badId.code());
    assertEquals("box_id", badId.fieldViolations().get(0).field());
    assertEquals(ErrorCode.INVALID_ARGUMENT, badPaths.code());
    assertEquals(List.of("shim_path", "volumes[0].guest_path"),
        badPaths.fieldViolations().stream().map(FieldViolation::field).toList());
    assertFalse(Files.exists(tmp.resolve("state/boxes/ok")));
  }

  @Test
  void stage_shimOutsideAllowedDirectories_permissionDenied() throws Exception {
    Path rogue = Files.writeString(tmp.resolve("rogue"), SHIM_SCRIPT);
    Files.setPosixFilePermissions(rogue, PosixFilePermissions.fromString("rwxr-xr-x"));

    JailerClientException e = assertThrows(JailerClientException.class,
        () -> unixClient.stage(StageRequest.newBuilder().setBoxId("rogue")
            .setShimPath(rogue.toString()).build()));

    assertEquals(ErrorCode.PERMISSION_DENIED, e.code());
    assertTrue(e.serverMessage().contains("--allow-shim-dir"), e.serverMessage());
  }

  @Test
  void unknownBox_notFoundForEveryCall() {
    for (Runnable call : List.<Runnable>of(
        () -> unixClient.inspect("ghost"),
        () -> unixClient.spawn(SpawnRequest.newBuilder().setBoxId("ghost").build()),
        () -> unixClient.stop(StopRequest.newBuilder().setBoxId("ghost").build()),
        () -> unixClient.remove(RemoveRequest.newBuilder().setBoxId("ghost").build()))) {
      JailerClientException e = assertThrows(JailerClientException.class, call::run);
      assertEquals(ErrorCode.NOT_FOUND, e.code());
    }
  }

  @Test
  void spawnInspectStopRemove_wholeLifeOverTheWire() throws Exception {
    requireSandbox();
    stage(unixClient, "life");

    Box running = unixClient.spawn(SpawnRequest.newBuilder().setBoxId("life").addArgs("sleep")
        .putEnv("GUEST", "alpine").build());
    awaitLog("life", "box says sleep");
    Box inspected = unixClient.inspect(InspectRequest.newBuilder().setBoxId("life")
        .setLogTailBytes(9).build());
    JailerClientException runningRemove = assertThrows(JailerClientException.class,
        () -> unixClient.remove(RemoveRequest.newBuilder().setBoxId("life").build()));
    Box stopped = unixClient.stop(StopRequest.newBuilder().setBoxId("life").build());
    Box removed = unixClient.remove(RemoveRequest.newBuilder().setBoxId("life").build());

    assertEquals(BoxState.BOX_STATE_RUNNING, running.getState());
    assertTrue(running.getPid() > 0);
    assertEquals(SandboxKind.SANDBOX_KIND_BUBBLEWRAP, running.getSandbox());
    assertTrue(running.getCommandLineList().contains("--unshare-net"));
    assertEquals("default", running.getSeccompProfile());
    assertEquals("ys sleep\n", inspected.getStdoutLog().getTail().toString(StandardCharsets.UTF_8));
    assertTrue(inspected.getStderrLog().getSizeBytes() > 0);
    assertTrue(inspected.getUsage().getPidsCurrent() > 0, inspected.getUsage().toString());
    assertTrue(inspected.getGrantsList().stream().anyMatch(g -> g.getPath().equals("/dev/kvm"))
        || !Files.exists(Path.of("/dev/kvm")));
    assertEquals(ErrorCode.FAILED_PRECONDITION, runningRemove.code());
    assertEquals(BoxState.BOX_STATE_EXITED, stopped.getState());
    assertEquals(15, stopped.getExitSignal());
    assertEquals(143, stopped.getExitCode());
    assertTrue(stopped.getEndedAtMillis() >= stopped.getStartedAtMillis());
    assertEquals("life", removed.getBoxId());
    assertFalse(Files.exists(Path.of(running.getBoxDir())));
    assertEquals(ErrorCode.NOT_FOUND,
        assertThrows(JailerClientException.class, () -> unixClient.inspect("life")).code());
  }

  @Test
  void remove_forceOnRunningBox_stopsItThenDeletesEverything() throws Exception {
    requireSandbox();
    stage(unixClient, "forced");
    Box running = unixClient.spawn(SpawnRequest.newBuilder().setBoxId("forced")
        .addArgs("sleep").build());

    Box removed = unixClient.remove(RemoveRequest.newBuilder().setBoxId("forced").setForce(true)
        .build());

    assertEquals(BoxState.BOX_STATE_EXITED, removed.getState());
    assertFalse(ProcessHandle.of(running.getPid()).map(ProcessHandle::isAlive).orElse(false));
    assertFalse(Files.exists(Path.of(running.getBoxDir())));
    assertEquals(List.of(), CgroupHost.detect().orphans(cgroupParent, Set.of()));
  }

  @Test
  void spawn_callerDeadlineExpires_boxIsEitherWhollyRunningOrNotStartedAtAll() throws Exception {
    requireSandbox();
    for (int attempt = 0; attempt < 5; attempt++) {
      String boxId = "hasty-" + attempt;
      stage(unixClient, boxId);
      try (JailerClient hasty = JailerClient.builder(server.targets().get(0))
          .defaultDeadline(Duration.ofMillis(2 + attempt * 3)).build()) {
        hasty.spawn(SpawnRequest.newBuilder().setBoxId(boxId).addArgs("sleep").build());
      } catch (JailerClientException e) {
        assertTrue(e.code() == ErrorCode.DEADLINE_EXCEEDED || e.code() == ErrorCode.CANCELLED,
            e.code().toString());
      }
      Thread.sleep(500);

      Box box = unixClient.inspect(boxId);
      if (box.getState() == BoxState.BOX_STATE_RUNNING) {
        assertTrue(ProcessHandle.of(box.getPid()).map(ProcessHandle::isAlive).orElse(false));
        unixClient.stop(StopRequest.newBuilder().setBoxId(boxId).build());
      } else {
        assertEquals(BoxState.BOX_STATE_STAGED, box.getState());
        assertTrue(CgroupHost.detect().open(cgroupParent, boxId).isEmpty(),
            "a cancelled spawn left its cgroup behind");
      }
    }
    // Every box ended or never started: no cgroup, and so no process, is left of any of them.
    assertEquals(List.of(), CgroupHost.detect().orphans(cgroupParent, Set.of()));
  }

  @Test
  void spawn_loaderVariable_invalidArgumentNamingIt() {
    stage(unixClient, "ld");

    JailerClientException e = assertThrows(JailerClientException.class,
        () -> unixClient.spawn(SpawnRequest.newBuilder().setBoxId("ld")
            .putEnv("LD_PRELOAD", "/tmp/evil.so").build()));

    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertEquals("env[LD_PRELOAD]", e.fieldViolations().get(0).field());
  }

  @Test
  void watch_streamsCurrentStateThenChangesAndCancelLeavesNothing() throws Exception {
    requireSandbox();
    stage(unixClient, "watched");
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    WatchHandle handle = unixClient.watch(WatchRequest.getDefaultInstance(), events::add);

    unixClient.spawn(SpawnRequest.newBuilder().setBoxId("watched").addArgs("exit")
        .addArgs("3").build());
    awaitState("watched", BoxState.BOX_STATE_EXITED);
    unixClient.remove(RemoveRequest.newBuilder().setBoxId("watched").build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (events.stream().noneMatch(WatchEvent::getRemoved) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    handle.cancel();

    List<String> seen = events.stream()
        .map(e -> e.getBox().getState() + (e.getRemoved() ? " removed" : "")).toList();
    assertEquals(List.of("BOX_STATE_STAGED", "BOX_STATE_RUNNING", "BOX_STATE_EXITED",
        "BOX_STATE_EXITED removed"), seen);
    assertEquals(3, events.get(2).getBox().getExitCode());
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (jailer.watcherCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, jailer.watcherCount());
  }

  @Test
  void list_filteredByState_stableOrder() throws Exception {
    stage(unixClient, "b");
    stage(unixClient, "a");

    List<Box> all = unixClient.list();
    List<Box> running = unixClient.list(ListRequest.newBuilder()
        .setState(BoxState.BOX_STATE_RUNNING).build());

    assertEquals(List.of("a", "b"), all.stream().map(Box::getBoxId).toList());
    assertTrue(running.isEmpty());
  }

  @Test
  void manyBoxes_concurrentWholeLives_allEndAsTheirCallsImplyWithNothingLeaked()
      throws Exception {
    requireSandbox();
    int boxes = 200;
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < boxes; i++) {
      String boxId = "many-" + i;
      boolean keep = i % 10 == 0;
      results.add(pool.submit(() -> {
        JailerClient client = boxId.hashCode() % 2 == 0 ? unixClient : tcpClient;
        stage(client, boxId);
        Box running = client.spawn(SpawnRequest.newBuilder().setBoxId(boxId).addArgs("sleep")
            .build());
        Box stopped = client.stop(StopRequest.newBuilder().setBoxId(boxId)
            .setGracePeriodMillis(5000).build());
        if (!keep) {
          client.remove(RemoveRequest.newBuilder().setBoxId(boxId).build());
        }
        return running.getState() + " " + stopped.getState() + " " + stopped.getExitSignal();
      }));
    }
    for (Future<String> result : results) {
      assertEquals("BOX_STATE_RUNNING BOX_STATE_EXITED 15", result.get(5, TimeUnit.MINUTES));
    }
    pool.shutdown();

    List<Box> left = unixClient.list();
    assertEquals(boxes / 10, left.size());
    assertTrue(left.stream().allMatch(b -> b.getState() == BoxState.BOX_STATE_EXITED));
    assertEquals(List.of(), CgroupHost.detect().orphans(cgroupParent, Set.of()));
    try (var dirs = Files.list(tmp.resolve("state/boxes"))) {
      assertEquals(boxes / 10, dirs.count());
    }
    assertTrue(ProcessHandle.current().descendants().noneMatch(p -> p.info().command()
        .map(c -> c.endsWith("bwrap") || c.endsWith("sleep")).orElse(false)));
  }

  private void awaitLog(String boxId, String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      Box box = unixClient.inspect(InspectRequest.newBuilder().setBoxId(boxId)
          .setLogTailBytes(4096).build());
      if (box.getStdoutLog().getTail().toString(StandardCharsets.UTF_8).contains(text)) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no \"" + text + "\" in the stdout of " + boxId);
  }
}
