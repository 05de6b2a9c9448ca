package dev.jailer.core.stage;

import java.util.List;
import java.util.Map;

/**
 * What Stage wrote and found, kept in {@code jailer/stage.json}.
 *
 * @param shimPath the shim path as the caller gave it
 * @param realShimPath the shim after resolving symlinks
 * @param shimDir the real directory of the shim; granted read-only to the sandbox
 * @param shimName the name of the staged shim inside {@code bin/}
 * @param volumes the volumes, with resolved host paths
 * @param files the entries of {@code bin/}
 * @param libraryFingerprint identity of each library left in {@code shimDir} (name to
 *     identity); Spawn refuses a box whose libraries changed since
 * @param stagedAtMillis when the last Stage that changed something on disk finished
 */
public record StageRecord(
    String shimPath,
    String realShimPath,
    String shimDir,
    String shimName,
    List<VolumeSpec> volumes,
    List<StagedEntry> files,
    Map<String, String> libraryFingerprint,
    long stagedAtMillis) {}
