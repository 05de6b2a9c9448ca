package dev.jailer.core.cgroup;

/**
 * Counters read from a box's cgroup. A counter the host does not provide (a missing controller,
 * an old kernel without {@code memory.peak}, a cgroup that has already gone) reads as 0.
 *
 * @param memoryCurrentBytes memory charged to the box now
 * @param memoryPeakBytes highest memory charge seen
 * @param pidsCurrent processes and threads in the box now
 * @param cpuUsageMicros CPU time consumed by the box, in microseconds
 */
public record CgroupUsage(
    long memoryCurrentBytes, long memoryPeakBytes, long pidsCurrent, long cpuUsageMicros) {
  /** All counters at 0. */
  public static final CgroupUsage ZERO = new CgroupUsage(0, 0, 0, 0);
}
