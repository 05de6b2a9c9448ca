package dev.jailer.core.sandbox;

import dev.jailer.core.JailerConfig;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.sandbox.linux.DevelopmentSpawner;
import dev.jailer.core.sandbox.linux.LinuxSpawner;
import dev.jailer.core.spawn.Spawner;
import java.util.logging.Logger;

/** The one place where the platform decides which sandbox confines shims. */
public final class Spawners {
  private static final Logger logger = Logger.getLogger(Spawners.class.getName());

  private Spawners() {}

  /**
   * The spawner for this host: bubblewrap on Linux; none at all only in development mode, which
   * the operator must ask for; otherwise a spawner that refuses every Spawn with the reason.
   */
  public static Spawner forHost(JailerConfig config) {
    if (config.development()) {
      logger.fine("development mode: shims run without any sandbox");
      return new DevelopmentSpawner(config);
    }
    return switch (config.platform()) {
      case LINUX -> new LinuxSpawner(config, CgroupHost.detect());
      // Limitation: the macOS profile generator and command builder exist
      // (dev.jailer.core.sandbox.macos) but no spawner runs them yet, so Spawn on macOS is
      // refused with this reason.
      case MACOS -> new UnavailableSpawner(
          "spawning under sandbox-exec is not implemented yet; Stage, Inspect and Remove work");
      case OTHER -> new UnavailableSpawner(
          "this operating system has no sandbox Jailer supports (Linux and macOS do); only "
              + "--development would run shims here, without any confinement");
    };
  }
}
