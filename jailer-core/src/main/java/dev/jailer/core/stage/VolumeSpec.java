package dev.jailer.core.stage;

/**
 * A volume as requested and as recorded.
 *
 * @param hostPath absolute host path (after Stage: resolved, without symlinks)
 * @param guestPath absolute path at which the guest sees it
 * @param readOnly whether the shim only reads it
 */
public record VolumeSpec(String hostPath, String guestPath, boolean readOnly) {}
