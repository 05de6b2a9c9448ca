package dev.jailer.core.sandbox;

import dev.jailer.core.JailerConfig;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.sandbox.linux.DevelopmentSpawner;
import dev.jailer.core.sandbox.linux.LinuxSpawner;
import dev.jailer.core.sandbox.macos.SeatbeltSpawner;
import dev.jailer.core.spawn.Spawner;
import java.util.logging.Logger;

/** The one place where the platform decides which sandbox confines shims. */
public final class Spawners {
  private static final Logger logger = Logger.getLogger(Spawners.class.getName());

  private Spawners() {}

  /**
   * The spawner for {@code config.platform()}: bubblewrap on Linux, Seatbelt on macOS; none at
   * all only in development mode, which the operator must ask for; on any other system a
   * spawner that refuses every Spawn with the reason.
   */
  public static Spawner forHost(JailerConfig config) {
    if (config.development()) {
      // Limitation: development mode starts shims through /usr/bin/prlimit, which macOS does
      // not have, so --development works on Linux only.
      logger.fine("development mode: shims run without any sandbox");
      return new DevelopmentSpawner(config);
    }
    return switch (config.platform()) {
      case LINUX -> new LinuxSpawner(config, CgroupHost.detect());
      // Constructing it runs nothing: its problem() tries sandbox-exec when asked.
      case MACOS -> new SeatbeltSpawner(config);
      case OTHER -> new UnavailableSpawner(
          "this operating system has no sandbox Jailer supports (Linux and macOS do); only "
              + "--development would run shims here, without any confinement");
    };
  }
}
