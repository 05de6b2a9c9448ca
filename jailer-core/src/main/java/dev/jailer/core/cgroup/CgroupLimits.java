package dev.jailer.core.cgroup;

import dev.jailer.core.JailerException;

/**
 * The cgroup limits of one box. A value of 0 means "no limit" for that resource.
 *
 * @param memoryBytes memory limit in bytes; swap is limited to the same total, so swap adds
 *     nothing on top of it
 * @param cpuMillis CPU quota in thousandths of a CPU (1000 = one full CPU), enforced over a
 *     100 ms period
 * @param maxPids most processes and threads the box may have at once
 */
public record CgroupLimits(long memoryBytes, long cpuMillis, long maxPids) {
  /** The CFS period every quota is expressed against, in microseconds (100 ms). */
  static final long CPU_PERIOD_MICROS = 100_000;

  /**
   * The kernel refuses a CFS quota below 1 ms per period (EINVAL), i.e. below 10 thousandths of
   * a CPU with a 100 ms period.
   */
  static final long MIN_CPU_MILLIS = 10;

  /**
   * Checks the values.
   *
   * @throws JailerException INVALID_ARGUMENT naming {@code limits.memory_bytes},
   *     {@code limits.cpu_millis} or {@code limits.max_pids} when a value is negative, or when
   *     a CPU quota is so small the kernel would refuse it
   */
  public CgroupLimits {
    if (memoryBytes < 0) {
      throw JailerException.invalidArgument("limits.memory_bytes", "must not be negative");
    }
    if (cpuMillis < 0) {
      throw JailerException.invalidArgument("limits.cpu_millis", "must not be negative");
    }
    if (cpuMillis > 0 && cpuMillis < MIN_CPU_MILLIS) {
      throw JailerException.invalidArgument(
          "limits.cpu_millis",
          "must be 0 (no limit) or at least " + MIN_CPU_MILLIS + " (the kernel's 1 ms quota)");
    }
    // cpuMillis * 100 must not overflow when turned into a quota in microseconds.
    if (cpuMillis > Long.MAX_VALUE / (CPU_PERIOD_MICROS / 1000)) {
      throw JailerException.invalidArgument("limits.cpu_millis", "is too large");
    }
    if (maxPids < 0) {
      throw JailerException.invalidArgument("limits.max_pids", "must not be negative");
    }
  }

  /** No limit on anything. */
  public static CgroupLimits none() {
    return new CgroupLimits(0, 0, 0);
  }

  /** The CFS quota in microseconds per {@link #CPU_PERIOD_MICROS}; 0 when there is no limit. */
  long cpuQuotaMicros() {
    return cpuMillis * (CPU_PERIOD_MICROS / 1000);
  }
}
