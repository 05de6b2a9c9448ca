package dev.jailer.core.stage;

/**
 * One entry of a box's {@code bin/}.
 *
 * @param name file name inside {@code bin/}
 * @param sizeBytes size of the file (for a symlink: of its target)
 * @param sha256 lowercase hex SHA-256 of the content (for a symlink: of its target)
 * @param linkTarget the symlink's target name, or empty for a regular file
 * @param sourceIdentity identity of the source when it was copied (size, times, inode); a
 *     later Stage compares it to decide whether to copy again
 * @param destIdentity identity of the copy right after it was written; a copy that no longer
 *     matches is written again
 * @param copied whether the Stage that produced this entry wrote it
 */
public record StagedEntry(
    String name,
    long sizeBytes,
    String sha256,
    String linkTarget,
    String sourceIdentity,
    String destIdentity,
    boolean copied) {

  /** Whether the entry is a symlink to another entry of {@code bin/}. */
  public boolean isLink() {
    return linkTarget != null && !linkTarget.isEmpty();
  }

  StagedEntry withCopied(boolean value) {
    return new StagedEntry(
        name, sizeBytes, sha256, linkTarget, sourceIdentity, destIdentity, value);
  }
}
