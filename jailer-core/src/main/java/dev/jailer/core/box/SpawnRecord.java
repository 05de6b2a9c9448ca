package dev.jailer.core.box;

import java.util.List;

/**
 * How a box was last spawned, kept in {@code jailer/spawn.json}, which only root can read.
 * {@code envNames} lists the caller's variables by name; their values appear only inside the
 * exact command line (as bubblewrap's {@code --setenv}), which Inspect returns to callers and
 * which is never logged.
 *
 * @param sandbox the sandbox kind: "bubblewrap", "seatbelt" or "none"
 * @param commandLine the exact argv the server executed
 * @param envNames the names of the caller's environment variables
 * @param limits the limits in force
 * @param unenforcedLimits requested limits the platform cannot enforce
 * @param seccompProfile a built-in profile name or a profile file path
 * @param network whether the shim has the host's network
 * @param uid the host user the shim runs as
 * @param gid the host group the shim runs as
 * @param cgroupParent the cgroup parent the box's cgroup lies under; empty when none
 * @param spawnedAtMillis when Spawn was called
 */
public record SpawnRecord(
    String sandbox,
    List<String> commandLine,
    List<String> envNames,
    Limits limits,
    List<String> unenforcedLimits,
    String seccompProfile,
    boolean network,
    int uid,
    int gid,
    String cgroupParent,
    long spawnedAtMillis) {}
