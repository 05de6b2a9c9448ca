package dev.jailer.core;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.box.Limits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the operator decided: where state lives, which directories shims, volumes and seccomp
 * profiles may come from, who boxes run as, and the defaults of every limit.
 *
 * @param stateDir the state directory; boxes live in {@code <stateDir>/boxes}
 * @param platform the host platform
 * @param allowedShimDirs directories shims may be staged from
 * @param allowedVolumeRoots directories below which volumes may lie
 * @param allowedSeccompDirs directories seccomp profile files may be read from
 * @param cgroupParent name of the cgroup under which box cgroups are created
 * @param boxUsers the host users boxes run as
 * @param defaultLimits limits applied where a Spawn leaves a field at 0
 * @param defaultStopGrace time between SIGTERM and SIGKILL when a Stop does not say
 * @param development run shims without any sandbox (never in production)
 */
public record JailerConfig(
    Path stateDir,
    Platform platform,
    ImmutableList<Path> allowedShimDirs,
    ImmutableList<Path> allowedVolumeRoots,
    ImmutableList<Path> allowedSeccompDirs,
    String cgroupParent,
    BoxUsers boxUsers,
    Limits defaultLimits,
    Duration defaultStopGrace,
    boolean development) {

  /** Limits a box gets when neither the operator nor the caller says otherwise. */
  public static final Limits DEFAULT_LIMITS =
      new Limits(
          1L << 30, // 1 GiB of memory (swap held to the same total)
          1000, // one CPU
          512, // processes and threads
          4096, // open files per process
          0, // file size: unlimited (disk images are large)
          0, // CPU seconds: unlimited (VMs run for long)
          0, // address space: off (VMMs reserve far more than they use)
          0); // core dumps off

  public JailerConfig {
    requireNonNull(stateDir, "stateDir");
    requireNonNull(platform, "platform");
    requireNonNull(allowedShimDirs, "allowedShimDirs");
    requireNonNull(allowedVolumeRoots, "allowedVolumeRoots");
    requireNonNull(allowedSeccompDirs, "allowedSeccompDirs");
    requireNonNull(cgroupParent, "cgroupParent");
    requireNonNull(boxUsers, "boxUsers");
    requireNonNull(defaultLimits, "defaultLimits");
    requireNonNull(defaultStopGrace, "defaultStopGrace");
  }

  /** A configuration with defaults for everything but the state and shim directories. */
  public static JailerConfig of(Path stateDir, List<Path> allowedShimDirs) {
    return new JailerConfig(
        stateDir,
        Platform.current(),
        ImmutableList.copyOf(allowedShimDirs),
        ImmutableList.of(),
        ImmutableList.of(),
        "jailer",
        BoxUsers.fixed("nobody"),
        DEFAULT_LIMITS,
        Duration.ofSeconds(10),
        false);
  }
}
