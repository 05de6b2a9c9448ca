package dev.jailer.core.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.JailerException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How mountinfo text places each controller on v1 or v2. */
class CgroupHostPlacementTest {
  /** The mountinfo of a hybrid host: separate v1 hierarchies plus an empty unified mount. */
  static final String HYBRID =
      """
      31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
      33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
      34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
      39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
      40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
      """;

  @TempDir Path root;

  @Test
  void fromMountInfo_hybridWithEmptyUnified_placesEveryControllerOnV1() throws IOException {
    writeControllers("sys/fs/cgroup/unified", "");

    CgroupHost host = CgroupHost.fromMountInfo(HYBRID, root);

    assertPlacement(host, "memory", "sys/fs/cgroup/memory", false);
    assertPlacement(host, "cpu", "sys/fs/cgroup/cpu", false);
    assertPlacement(host, "cpuacct", "sys/fs/cgroup/cpuacct", false);
    assertPlacement(host, "pids", "sys/fs/cgroup/pids", false);
    assertEquals(Set.of(), host.missingControllers());
  }

  @Test
  void fromMountInfo_unifiedOffersOnlyPids_placesPidsOnV2AndMemoryOnV1() throws IOException {
    String mountInfo =
        """
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
        """;
    writeControllers("sys/fs/cgroup/unified", "pids\n");

    CgroupHost host = CgroupHost.fromMountInfo(mountInfo, root);

    assertPlacement(host, "pids", "sys/fs/cgroup/unified", true);
    assertPlacement(host, "memory", "sys/fs/cgroup/memory", false);
    assertPlacement(host, "cpu", "sys/fs/cgroup/cpu,cpuacct", false);
    assertPlacement(host, "cpuacct", "sys/fs/cgroup/cpu,cpuacct", false);
  }

  @Test
  void fromMountInfo_pureV2_placesEveryControllerOnTheUnifiedRoot() throws IOException {
    String mountInfo =
        "25 20 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
    writeControllers("sys/fs/cgroup", "cpuset cpu io memory hugetlb pids rdma misc\n");

    CgroupHost host = CgroupHost.fromMountInfo(mountInfo, root);

    for (String controller : new String[] {"memory", "cpu", "cpuacct", "pids"}) {
      assertPlacement(host, controller, "sys/fs/cgroup", true);
    }
  }

  @Test
  void fromMountInfo_noCgroupMounts_reportsEveryControllerMissing() {
    CgroupHost host =
        CgroupHost.fromMountInfo("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n", root);

    assertEquals(Set.of("memory", "cpu", "cpuacct", "pids"), host.missingControllers());
    assertTrue(host.placements().isEmpty());
  }

  @Test
  void preflight_missingMemory_namesTheControllerAndTheFix() throws IOException {
    String mountInfo =
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";
    Files.createDirectories(root.resolve("sys/fs/cgroup/pids"));

    CgroupHost host = CgroupHost.fromMountInfo(mountInfo, root);

    assertEquals(Set.of("memory", "cpu", "cpuacct"), host.missingControllers());
    String problems = String.join("\n", host.preflight("jailer"));
    assertTrue(
        problems.contains("memory controller: no cgroup v1 or v2 hierarchy offers it"), problems);
    assertTrue(problems.contains("kernel command line"), problems);
  }

  @Test
  void preflight_mountPointMissing_reportsTheDirectoryAndTheFix() {
    String mountInfo = "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";

    CgroupHost host = CgroupHost.fromMountInfo(mountInfo, root);

    Path parentDir = root.resolve("sys/fs/cgroup/pids/jailer");
    assertTrue(
        host.preflight("jailer")
            .contains(
                "cannot create cgroup " + parentDir + ": No such file or directory; run the"
                    + " server as root or delegate that cgroup to its user"),
        host.preflight("jailer").toString());
  }

  @Test
  void create_memoryLimitWithoutMemoryController_failsClosed() {
    CgroupHost host = CgroupHost.fromMountInfo("", root);

    JailerException e =
        assertThrows(
            JailerException.class,
            () -> host.create("jailer", "box1", new CgroupLimits(1 << 20, 0, 0)));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("limits.memory_bytes"), e.getMessage());
  }

  @Test
  void fromMountInfo_escapedMountPoint_isUnescaped() {
    String mountInfo =
        "35 31 0:32 / /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n";

    CgroupHost host = CgroupHost.fromMountInfo(mountInfo, root);

    assertPlacement(host, "memory", "sys/fs/cgroup/my memory", false);
  }

  @Test
  void create_invalidBoxId_isRefused() {
    CgroupHost host = CgroupHost.fromMountInfo("", root);

    for (String bad : new String[] {"", "-x", "_x", "a/b", "..", "a".repeat(65), "a b"}) {
      JailerException e =
          assertThrows(
              JailerException.class, () -> host.create("jailer", bad, CgroupLimits.none()), bad);
      assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind());
      assertEquals("box_id", e.violations().get(0).field());
    }
    assertThrows(JailerException.class, () -> host.open("..", "box1"));
  }

  @Test
  void cgroupLimits_tooSmallCpuQuota_isRefused() {
    JailerException e = assertThrows(JailerException.class, () -> new CgroupLimits(0, 5, 0));

    assertEquals("limits.cpu_millis", e.violations().get(0).field());
    assertEquals(1000, new CgroupLimits(0, 10, 0).cpuQuotaMicros());
    assertFalse(assertThrows(JailerException.class, () -> new CgroupLimits(-1, 0, 0))
        .violations().isEmpty());
  }

  private void writeControllers(String mount, String controllers) throws IOException {
    Path dir = Files.createDirectories(root.resolve(mount));
    Files.writeString(dir.resolve("cgroup.controllers"), controllers);
  }

  private void assertPlacement(CgroupHost host, String controller, String mount, boolean v2) {
    CgroupHost.Placement placement = host.placements().get(controller);
    assertEquals(new CgroupHost.Placement(controller, root.resolve(mount), v2), placement);
  }
}
