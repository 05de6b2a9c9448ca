package dev.jailer.core.sandbox.macos;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.box.Limits;

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
   * @throws IllegalArgumentException if any value is negative, naming the contract field
   */
  public static Assessment assess(Limits requested) {
    requireNonNull(requested, "requested");
    checkNotNegative("memory_bytes", requested.memoryBytes());
    checkNotNegative("cpu_millis", requested.cpuMillis());
    checkNotNegative("max_pids", requested.maxPids());
    checkNotNegative("max_open_files", requested.maxOpenFiles());
    checkNotNegative("max_file_size_bytes", requested.maxFileSizeBytes());
    checkNotNegative("max_cpu_seconds", requested.maxCpuSeconds());
    checkNotNegative("max_address_space_bytes", requested.maxAddressSpaceBytes());
    checkNotNegative("max_core_bytes", requested.maxCoreBytes());
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
