package dev.jailer.core.sandbox;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * One host path the sandbox makes visible to the shim, at the same path inside.
 *
 * @param path absolute, already resolved host path
 * @param access how much the shim may do with it
 * @param directory whether the path is a directory (a file grant covers exactly one file)
 * @param reason why the box needs it, shown to operators by Inspect
 */
public record PathGrant(Path path, Access access, boolean directory, String reason) {
  public PathGrant {
    requireNonNull(path, "path");
    requireNonNull(access, "access");
    requireNonNull(reason, "reason");
    if (!path.isAbsolute()) {
      throw new IllegalArgumentException("grant path must be absolute: " + path);
    }
  }
}
