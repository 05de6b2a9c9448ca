package dev.jailer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.client.JailerClient;
import dev.jailer.core.box.PidRecord;
import dev.jailer.core.box.RecordFiles;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.sandbox.linux.ProcFs;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.core.testing.TestCgroups;
import dev.jailer.core.testing.ShimDirectory;
import dev.jailer.v1.Box;
import dev.jailer.v1.BoxState;
import dev.jailer.v1.SpawnRequest;
import dev.jailer.v1.StageRequest;
import dev.jailer.v1.StopRequest;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kills the real server process with SIGKILL and checks what a restart finds. */
class JailerRestartTest {
  @TempDir Path tmp;
  private ShimDirectory shim;
  private String cgroupParent;
  private Process server;
  private Path socket;

  @BeforeEach
  void setUp() throws Exception {
    Prerequisites.require(Files.isExecutable(Path.of("/usr/bin/bwrap")), "bubblewrap");
    Prerequisites.require(
        "0".equals(String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))),
        "running as root");
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    shim = ShimDirectory.create(tmp.resolve("opt/shim"));
    shim.write("box-shim", "#!/bin/sh\necho started\nexec sleep 600\n", "rwxr-xr-x");
    cgroupParent = TestCgroups.newParent();
    socket = tmp.resolve("state/run/jailer.sock");
  }

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    TestCgroups.removeParent(cgroupParent);
  }

  private void startServer() throws Exception {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), JailerServerMain.class.getName(),
        "--state-dir", tmp.resolve("state").toString(),
        "--allow-shim-dir", shim.dir().toString(),
        "--cgroup-parent", cgroupParent));
    server = new ProcessBuilder(command)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(tmp.resolve("server.log").toFile())
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
        try (JailerClient client = JailerClient.create("unix:" + socket)) {
          client.list();
          return;
        } catch (RuntimeException notYet) {
          // The socket file can appear a moment before the server answers.
        }
      }
      assertTrue(server.isAlive(), () -> "server died: " + log());
      assertTrue(System.nanoTime() < deadline, "server never answered");
      Thread.sleep(50);
    }
  }

  private String log() {
    try {
      return Files.readString(tmp.resolve("server.log"));
    } catch (Exception e) {
      return e.toString();
    }
  }

  private Box spawn(JailerClient client, String boxId) {
    client.stage(StageRequest.newBuilder().setBoxId(boxId)
        .setShimPath(shim.shim().toString()).build());
    return client.spawn(SpawnRequest.newBuilder().setBoxId(boxId).build());
  }

  @Test
  void restartAfterSigkill_reattachesRunningBoxesAndRecordsEndsWhileDown() throws Exception {
    startServer();
    long keepsPid;
    long endsPid;
    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      keepsPid = spawn(client, "keeps").getPid();
      endsPid = spawn(client, "ends").getPid();
      client.stage(StageRequest.newBuilder().setBoxId("recycled")
          .setShimPath(shim.shim().toString()).build());
    }

    server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    ProcessHandle.of(endsPid).orElseThrow().destroy();
    ProcessHandle.of(endsPid).ifPresent(p -> p.onExit().join());
    // A pid record naming a live process with another start time: the pid was recycled.
    long self = ProcessHandle.current().pid();
    RecordFiles.write(tmp.resolve("state/boxes/recycled/jailer/pid.json"),
        new PidRecord(self, ProcFs.startTime(self).orElseThrow() + 1, self, 0));
    Path orphan = CgroupHost.detect().placements().values().iterator().next().mountPoint()
        .resolve(cgroupParent).resolve("orphan");
    Files.createDirectories(orphan);
    startServer();

    try (JailerClient client = JailerClient.create("unix:" + socket)) {
      Map<String, Box> boxes = client.list().stream()
          .collect(Collectors.toMap(Box::getBoxId, Function.identity()));
      assertEquals(BoxState.BOX_STATE_RUNNING, boxes.get("keeps").getState(), log());
      assertEquals(keepsPid, boxes.get("keeps").getPid());
      assertEquals(BoxState.BOX_STATE_EXITED, boxes.get("ends").getState());
      assertEquals(143, boxes.get("ends").getExitCode());
      assertEquals(BoxState.BOX_STATE_EXITED, boxes.get("recycled").getState());
      assertTrue(ProcessHandle.current().isAlive());
      assertFalse(Files.exists(orphan), "the orphan cgroup should be removed at start-up");

      Box stopped = client.stop(StopRequest.newBuilder().setBoxId("keeps").build());

      assertEquals(BoxState.BOX_STATE_EXITED, stopped.getState());
      assertEquals(15, stopped.getExitSignal());
      assertFalse(ProcessHandle.of(keepsPid).map(ProcessHandle::isAlive).orElse(false));
    }
  }
}
