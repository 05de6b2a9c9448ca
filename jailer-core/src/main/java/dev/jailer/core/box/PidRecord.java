package dev.jailer.core.box;

/**
 * The running shim, kept in {@code jailer/pid.json}.
 *
 * @param pid the shim's own host pid
 * @param startTimeTicks the shim's start time, so a recycled pid is never mistaken for the shim:
 *     on Linux clock ticks since boot from {@code /proc/<pid>/stat} (field 22); on macOS, which
 *     has no {@code /proc}, epoch milliseconds from {@link ProcessHandle.Info#startInstant()}
 * @param launcherPid the pid of the process the shim runs under: bubblewrap's init in the
 *     box (or, without a sandbox, the shim itself)
 * @param startedAtMillis wall-clock time the shim was seen running
 */
public record PidRecord(long pid, long startTimeTicks, long launcherPid, long startedAtMillis) {}
