package dev.jailer.core.testing;

import dev.jailer.core.cgroup.CgroupHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Cgroup parents of the tests' own: every test that creates cgroups does so below a parent
 * named here, and removes it with everything below it afterwards, never touching the host's.
 */
public final class TestCgroups {
  private TestCgroups() {}

  /** A fresh parent name that no other test and no server of the host uses. */
  public static String newParent() {
    return "jailer-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
  }

  /** Kills what is left in the boxes' cgroups below {@code parent}, then removes them all. */
  public static void removeParent(String parent) throws IOException {
    CgroupHost host = CgroupHost.detect();
    for (String box : host.orphans(parent, Set.of())) {
      host.open(parent, box).ifPresent(cgroup -> {
        cgroup.killAll();
        cgroup.remove();
      });
    }
    for (var placement : host.placements().values()) {
      Path dir = placement.mountPoint().resolve(parent);
      if (Files.isDirectory(dir)) {
        Files.delete(dir);
      }
    }
  }
}
