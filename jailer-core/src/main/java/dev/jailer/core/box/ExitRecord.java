package dev.jailer.core.box;

/**
 * How a shim ended, kept in {@code jailer/exit.json}.
 *
 * @param exitCode the exit status bubblewrap reported (128 + N for a shim killed by signal N)
 * @param exitSignal the signal that ended the shim when the jailer knows it (it sent it, or the
 *     memory limit killed the shim); 0 otherwise
 * @param oomKilled whether the cgroup's memory limit killed the shim
 * @param usage the cgroup's final counters
 * @param endedAtMillis when the end was recorded
 * @param message a sentence for operators on how it ended
 */
public record ExitRecord(
    int exitCode,
    int exitSignal,
    boolean oomKilled,
    Usage usage,
    long endedAtMillis,
    String message) {}
