package dev.jailer.core.cgroup;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.testing.Prerequisites;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A box cgroup on a real v2 hierarchy that offers memory, cpu and pids. Hybrid build machines
 * have no such hierarchy, so this runs only where the host has one.
 */
class CgroupV2LiveTest {
  private BoxCgroup cgroup;
  private Path parentDir;
  private Process process;

  @AfterEach
  void cleanUp() throws Exception {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(5, SECONDS);
    }
    if (cgroup != null) {
      cgroup.killAll();
      cgroup.remove();
    }
    if (parentDir != null) {
      BoxCgroup.removeDirectory(parentDir, BoxCgroup.REMOVE_TIMEOUT);
    }
  }

  @Test
  void create_realV2_writesLimitsAndCountsAJoinedProcess() throws Exception {
    CgroupHost host = CgroupHost.detect();
    boolean v2 = true;
    for (String controller : List.of("memory", "cpu", "pids")) {
      CgroupHost.Placement placement = host.placements().get(controller);
      v2 &= placement != null && placement.unified();
    }
    Prerequisites.requireHostFeature(v2, "cgroup v2 hierarchy offering memory, cpu and pids");
    Prerequisites.require("root".equals(System.getProperty("user.name")), "running as root");
    String parent = "jailer-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    parentDir = host.placements().get("memory").mountPoint().resolve(parent);

    cgroup = host.create(parent, "box1", new CgroupLimits(64L << 20, 500, 16));

    Path dir = cgroup.directories().get("memory");
    assertEquals("67108864", Files.readString(dir.resolve("memory.max")).trim());
    assertEquals("50000 100000", Files.readString(dir.resolve("cpu.max")).trim());
    assertEquals("16", Files.readString(dir.resolve("pids.max")).trim());
    if (Files.exists(dir.resolve("memory.swap.max"))) {
      assertEquals("0", Files.readString(dir.resolve("memory.swap.max")).trim());
    }
    assertEquals(List.of(dir.resolve("cgroup.procs")), cgroup.procsFiles());

    process =
        new ProcessBuilder(
                "/bin/sh", "-c", "echo $$ > \"$1\" && exec sleep 30", "sh",
                cgroup.procsFiles().get(0).toString())
            .start();
    long deadline = System.nanoTime() + SECONDS.toNanos(10);
    while (!cgroup.pids().contains(process.pid()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(cgroup.pids().contains(process.pid()));
    assertEquals(1, cgroup.usage().pidsCurrent());
    assertTrue(cgroup.usage().memoryCurrentBytes() > 0);

    assertTrue(cgroup.killAll());
    assertTrue(process.waitFor(5, SECONDS));
    cgroup.remove();
    assertFalse(Files.exists(dir));
  }
}
