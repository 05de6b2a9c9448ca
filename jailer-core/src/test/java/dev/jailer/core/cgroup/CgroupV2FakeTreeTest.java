package dev.jailer.core.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.JailerException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact writes on a v2 host, against a directory tree imitating {@code /sys/fs/cgroup}. A
 * plain file system does not make control files appear in a new directory, so each test lays
 * out the box's directory with empty control files beforehand, as a crash would have left it,
 * and asserts what the code wrote into them.
 */
class CgroupV2FakeTreeTest {
  private static final String MOUNT_INFO =
      "25 20 0:23 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n";
  private static final List<String> BOX_FILES =
      List.of(
          "cgroup.procs", "memory.max", "memory.swap.max", "cpu.max", "pids.max",
          "memory.current", "pids.current", "cpu.stat", "memory.events");

  @TempDir Path root;
  private Path v2;
  private Path box;

  @BeforeEach
  void layOutTree() throws IOException {
    v2 = Files.createDirectories(root.resolve("sys/fs/cgroup"));
    Files.writeString(v2.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    Files.writeString(v2.resolve("cgroup.subtree_control"), "");
    Path parent = Files.createDirectories(v2.resolve("jailer"));
    Files.writeString(parent.resolve("cgroup.subtree_control"), "");
    box = Files.createDirectories(parent.resolve("box1"));
    for (String name : BOX_FILES) {
      Files.writeString(box.resolve(name), "");
    }
  }

  @Test
  void create_allLimits_writesExactV2Values() throws IOException {
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    BoxCgroup cgroup = host.create("jailer", "box1", new CgroupLimits(64L << 20, 250, 20));

    assertEquals("67108864", read(box.resolve("memory.max")));
    assertEquals("0", read(box.resolve("memory.swap.max")));
    assertEquals("25000 100000", read(box.resolve("cpu.max")));
    assertEquals("20", read(box.resolve("pids.max")));
    assertEquals("+memory +cpu +pids", read(v2.resolve("cgroup.subtree_control")));
    assertEquals("+memory +cpu +pids", read(v2.resolve("jailer/cgroup.subtree_control")));
    assertEquals(List.of(box.resolve("cgroup.procs")), cgroup.procsFiles());
    assertEquals(
        Map.of("memory", box, "cpu", box, "cpuacct", box, "pids", box), cgroup.directories());
    assertEquals(Set.of("memory", "cpu", "cpuacct", "pids"), cgroup.unifiedControllers());
  }

  @Test
  void create_controllersAlreadyEnabledAtRoot_leavesRootAlone() throws IOException {
    Files.writeString(v2.resolve("cgroup.subtree_control"), "cpu memory pids\n");
    Files.writeString(v2.resolve("jailer/cgroup.subtree_control"), "memory\n");
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    host.create("jailer", "box1", new CgroupLimits(0, 0, 7));

    assertEquals("cpu memory pids", read(v2.resolve("cgroup.subtree_control")));
    assertEquals("+cpu +pids", read(v2.resolve("jailer/cgroup.subtree_control")));
    assertEquals("7", read(box.resolve("pids.max")));
  }

  @Test
  void create_reusedDirectoryWithoutLimits_resetsEveryLimitToMax() throws IOException {
    Files.writeString(box.resolve("memory.max"), "1000");
    Files.writeString(box.resolve("pids.max"), "3");
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    host.create("jailer", "box1", CgroupLimits.none());

    assertEquals("max", read(box.resolve("memory.max")));
    assertEquals("max", read(box.resolve("memory.swap.max")));
    assertEquals("max 100000", read(box.resolve("cpu.max")));
    assertEquals("max", read(box.resolve("pids.max")));
  }

  @Test
  void create_directoryWithProcesses_isRefused() throws IOException {
    Files.writeString(box.resolve("cgroup.procs"), "4242\n");
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    JailerException e =
        assertThrows(
            JailerException.class, () -> host.create("jailer", "box1", CgroupLimits.none()));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("already holds processes [4242]"), e.getMessage());
  }

  @Test
  void create_missingLimitFile_failsNamingTheFile() throws IOException {
    Files.delete(box.resolve("pids.max"));
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    JailerException e =
        assertThrows(
            JailerException.class,
            () -> host.create("jailer", "box1", new CgroupLimits(0, 0, 9)));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertEquals(
        "cannot write 9 to " + box.resolve("pids.max") + ": No such file or directory",
        e.getMessage());
  }

  @Test
  void create_freshDirectory_isMadeAndRemovedAgainOnFailure() throws IOException {
    // No control files appear in a directory of a plain file system, so the first limit write
    // fails; the directory made for it must not be left behind.
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    assertThrows(
        JailerException.class,
        () -> host.create("jailer", "box2", new CgroupLimits(1 << 20, 0, 0)));

    assertFalse(Files.exists(v2.resolve("jailer/box2")));
    BoxCgroup unlimited = host.create("jailer", "box2", CgroupLimits.none());
    assertTrue(Files.isDirectory(v2.resolve("jailer/box2")));
    unlimited.remove();
    assertFalse(Files.exists(v2.resolve("jailer/box2")));
    unlimited.remove();
  }

  @Test
  void usage_v2Files_readsEachCounter() throws IOException {
    Files.writeString(box.resolve("memory.current"), "123456\n");
    Files.writeString(box.resolve("pids.current"), "3\n");
    Files.writeString(box.resolve("cpu.stat"), "usage_usec 4567\nuser_usec 4000\n");
    Files.writeString(box.resolve("memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    BoxCgroup cgroup = host.open("jailer", "box1").orElseThrow();

    // memory.peak is absent, as on kernels before 5.19.
    assertEquals(new CgroupUsage(123456, 0, 3, 4567), cgroup.usage());
    assertTrue(cgroup.oomKilled());
  }

  @Test
  void oomKilled_noOomKill_isFalse() throws IOException {
    Files.writeString(box.resolve("memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 0\n");
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    assertFalse(host.open("jailer", "box1").orElseThrow().oomKilled());
  }

  @Test
  void killAll_cgroupKillPresent_writesOne() throws IOException {
    Files.writeString(box.resolve("cgroup.kill"), "");
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    assertTrue(host.open("jailer", "box1").orElseThrow().killAll());

    assertEquals("1", read(box.resolve("cgroup.kill")));
  }

  @Test
  void open_unknownBox_isEmpty() {
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    assertTrue(host.open("jailer", "nobox").isEmpty());
  }

  @Test
  void orphans_unknownDirectories_areListedWithoutProbes() throws IOException {
    Files.createDirectories(v2.resolve("jailer/box2"));
    Files.createDirectories(v2.resolve("jailer/_probe-1-2"));
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);

    assertEquals(List.of("box1", "box2"), host.orphans("jailer", Set.of()));
    assertEquals(List.of("box2"), host.orphans("jailer", Set.of("box1")));
    assertEquals(List.of("box2"), host.removeOrphans("jailer", Set.of("box1")));
    assertFalse(Files.exists(v2.resolve("jailer/box2")));
  }

  @Test
  void vanishedCgroup_usageIsZeroAndNothingThrows() throws IOException {
    CgroupHost host = CgroupHost.fromMountInfo(MOUNT_INFO, root);
    BoxCgroup cgroup = host.open("jailer", "box1").orElseThrow();
    for (String name : BOX_FILES) {
      Files.delete(box.resolve(name));
    }
    Files.delete(box);

    assertEquals(CgroupUsage.ZERO, cgroup.usage());
    assertFalse(cgroup.oomKilled());
    assertEquals(Set.of(), cgroup.pids());
    assertFalse(cgroup.exists());
    cgroup.remove();
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file).trim();
  }
}
