package dev.jailer.core.box;

/**
 * Counters read from a box's cgroup.
 *
 * @param memoryCurrentBytes memory in use
 * @param memoryPeakBytes highest memory use seen
 * @param pidsCurrent processes and threads
 * @param cpuUsageMicros CPU time consumed
 */
public record Usage(
    long memoryCurrentBytes, long memoryPeakBytes, long pidsCurrent, long cpuUsageMicros) {
  public static final Usage NONE = new Usage(0, 0, 0, 0);
}
