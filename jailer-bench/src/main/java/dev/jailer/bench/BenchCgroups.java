package dev.jailer.bench;

import dev.jailer.core.cgroup.BoxCgroup;
import dev.jailer.core.cgroup.CgroupHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Removes the cgroups of the benchmark's own parents (and kills what is left in them). Only
 * parents whose names the benchmark made up ({@code jailer-bench-<run id>...}) are ever passed
 * here.
 */
final class BenchCgroups {
  private static final Logger logger = Logger.getLogger(BenchCgroups.class.getName());

  private BenchCgroups() {}

  /** Every hierarchy directory of the host that holds a controller Jailer uses. */
  static Set<Path> mountPoints() {
    Set<Path> mounts = new LinkedHashSet<>();
    CgroupHost.detect().placements().values().forEach(p -> mounts.add(p.mountPoint()));
    return mounts;
  }

  /** Kills every process in each box cgroup below {@code parent}, then removes them all. */
  static void removeParent(String parent) {
    CgroupHost host = CgroupHost.detect();
    for (String child : host.orphans(parent, Set.of())) {
      host.open(parent, child).ifPresent(c -> {
        try {
          c.killAll();
          c.remove();
        } catch (RuntimeException e) {
          logger.warning("cannot remove cgroup " + c + ": " + e.getMessage());
        }
      });
    }
    for (Path mount : mountPoints()) {
      Path dir = mount.resolve(parent);
      try {
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        logger.warning("cannot remove cgroup " + dir + ": " + e);
      }
    }
  }

  /** Kills the processes of one box cgroup and removes it; false when there was none. */
  static boolean killAndRemove(String parent, String name) {
    return CgroupHost.detect().open(parent, name).map(c -> {
      c.killAll();
      c.remove();
      return true;
    }).orElse(false);
  }
}
