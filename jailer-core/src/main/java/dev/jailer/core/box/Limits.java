package dev.jailer.core.box;

/**
 * Resource limits of a spawned box. A value of 0 means "no limit" except where noted.
 *
 * @param memoryBytes cgroup memory limit; swap is held to the same total
 * @param cpuMillis cgroup CPU quota in thousandths of a CPU
 * @param maxPids cgroup pids limit
 * @param maxOpenFiles RLIMIT_NOFILE
 * @param maxFileSizeBytes RLIMIT_FSIZE
 * @param maxCpuSeconds RLIMIT_CPU
 * @param maxAddressSpaceBytes RLIMIT_AS, off unless asked for (VMMs reserve far more than they
 *     use)
 * @param maxCoreBytes RLIMIT_CORE; 0 means core dumps are off, not unlimited
 */
public record Limits(
    long memoryBytes,
    long cpuMillis,
    long maxPids,
    long maxOpenFiles,
    long maxFileSizeBytes,
    long maxCpuSeconds,
    long maxAddressSpaceBytes,
    long maxCoreBytes) {}
