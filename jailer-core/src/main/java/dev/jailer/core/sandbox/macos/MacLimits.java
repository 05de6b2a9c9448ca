package dev.jailer.core.sandbox.macos;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;

/**
 * Which requested resource limits macOS can enforce for a box, and how.
 *
 * <p>macOS has no cgroups, so the three box-wide limits of the Linux sandbox have no counterpart:
 * total memory, CPU quota and process count. What remains are the per-process rlimits, which the
 * launcher sets before it executes {@code sandbox-exec} and which the shim inherits: open files,
 * file size, CPU seconds, address space and core size. The unenforced limits are reported by name
 * (the {@code ResourceLimits} field names of the v1 contract), so that Inspect's {@code
 * unenforced_limits} says plainly what the box is running without.
 *
 * <p>{@code RLIMIT_NPROC} is deliberately not offered as a stand-in for {@code max_pids}: on macOS
 * it counts every process of the user, not of the box, so it limits something else.
 */
public final class MacLimits {
  /** Proto field names of the limits that only a cgroup can enforce. */
  public static final ImmutableList<String> CGROUP_ONLY =
      ImmutableList.of("memory_bytes", "cpu_millis", "max_pids");

  private MacLimits() {}

  /**
   * The limits a box asks for, mirroring the v1 {@code ResourceLimits} message without depending on
   * it. A value of 0 means "not requested" (the server's default applies elsewhere).
   *
   * @param memoryBytes {@code memory_bytes}
   * @param cpuMillis {@code cpu_millis}
   * @param maxPids {@code max_pids}
   * @param maxOpenFiles {@code max_open_files}, {@code RLIMIT_NOFILE}
   * @param maxFileSizeBytes {@code max_file_size_bytes}, {@code RLIMIT_FSIZE}
   * @param maxCpuSeconds {@code max_cpu_seconds}, {@code RLIMIT_CPU}
   * @param maxAddressSpaceBytes {@code max_address_space_bytes}, {@code RLIMIT_AS}
   * @param maxCoreBytes {@code max_core_bytes}, {@code RLIMIT_CORE}
   */
  public record Requested(
      long memoryBytes,
      long cpuMillis,
      long maxPids,
      long maxOpenFiles,
      long maxFileSizeBytes,
      long maxCpuSeconds,
      long maxAddressSpaceBytes,
      long maxCoreBytes) {
    /**
     * Refuses negative values.
     *
     * @throws IllegalArgumentException if any value is negative
     */
    public Requested {
      checkNotNegative("memory_bytes", memoryBytes);
      checkNotNegative("cpu_millis", cpuMillis);
      checkNotNegative("max_pids", maxPids);
      checkNotNegative("max_open_files", maxOpenFiles);
      checkNotNegative("max_file_size_bytes", maxFileSizeBytes);
      checkNotNegative("max_cpu_seconds", maxCpuSeconds);
      checkNotNegative("max_address_space_bytes", maxAddressSpaceBytes);
      checkNotNegative("max_core_bytes", maxCoreBytes);
    }
  }

  /**
   * What macOS makes of a request.
   *
   * @param enforced proto field names of the requested limits that rlimits enforce, in field order
   * @param unenforced proto field names of the requested limits that nothing enforces on macOS, in
   *     field order; a subset of {@link #CGROUP_ONLY}
   * @param rlimits the rlimits to set, resource name ({@code RLIMIT_NOFILE}, ...) to value in the
   *     resource's own unit (a count, bytes or seconds), in field order
   */
  public record Assessment(
      ImmutableList<String> enforced,
      ImmutableList<String> unenforced,
      ImmutableMap<String, Long> rlimits) {
    public Assessment {
      requireNonNull(enforced, "enforced");
      requireNonNull(unenforced, "unenforced");
      requireNonNull(rlimits, "rlimits");
    }
  }

  /**
   * Sorts the requested (non-zero) limits into enforced and unenforced, and lists the rlimits that
   * enforce the former. A limit left at 0 appears nowhere.
   *
   * @throws NullPointerException if {@code requested} is null
   */
  public static Assessment assess(Requested requested) {
    requireNonNull(requested, "requested");
    ImmutableList.Builder<String> enforced = ImmutableList.builder();
    ImmutableList.Builder<String> unenforced = ImmutableList.builder();
    ImmutableMap.Builder<String, Long> rlimits = ImmutableMap.builder();

    // Field order of the contract, so the lists read the same as the message.
    addIfSet(unenforced, "memory_bytes", requested.memoryBytes());
    addIfSet(unenforced, "cpu_millis", requested.cpuMillis());
    addIfSet(unenforced, "max_pids", requested.maxPids());
    addRlimit(enforced, rlimits, "max_open_files", "RLIMIT_NOFILE", requested.maxOpenFiles());
    addRlimit(
        enforced, rlimits, "max_file_size_bytes", "RLIMIT_FSIZE", requested.maxFileSizeBytes());
    addRlimit(enforced, rlimits, "max_cpu_seconds", "RLIMIT_CPU", requested.maxCpuSeconds());
    addRlimit(
        enforced,
        rlimits,
        "max_address_space_bytes",
        "RLIMIT_AS",
        requested.maxAddressSpaceBytes());
    addRlimit(enforced, rlimits, "max_core_bytes", "RLIMIT_CORE", requested.maxCoreBytes());

    return new Assessment(enforced.build(), unenforced.build(), rlimits.buildOrThrow());
  }

  private static void addIfSet(ImmutableList.Builder<String> names, String field, long value) {
    if (value != 0) {
      names.add(field);
    }
  }

  private static void addRlimit(
      ImmutableList.Builder<String> names,
      ImmutableMap.Builder<String, Long> rlimits,
      String field,
      String resource,
      long value) {
    if (value != 0) {
      names.add(field);
      rlimits.put(resource, value);
    }
  }

  private static void checkNotNegative(String field, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(field + " must not be negative: " + value);
    }
  }
}
