package dev.jailer.core.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A shim installation as a release ships it: the shim executable, {@code libkrun.so.1},
 * {@code libgvproxy.so}, and {@code libkrunfw.so.5.2.1} with its two version symlinks.
 */
public final class ShimDirectory {
  public static final String KRUNFW_REAL = "libkrunfw.so.5.2.1";

  private final Path dir;

  private ShimDirectory(Path dir) {
    this.dir = dir;
  }

  /** Creates the installation in {@code dir} with small recognisable contents. */
  public static ShimDirectory create(Path dir) throws IOException {
    Files.createDirectories(dir);
    ShimDirectory shim = new ShimDirectory(dir);
    shim.write("box-shim", "#!/bin/sh\necho shim\n", "rwxr-xr-x");
    shim.write("libkrun.so.1", "libkrun contents", "rwxr-xr-x");
    shim.write("libgvproxy.so", "libgvproxy contents", "rwxr-xr-x");
    shim.write(KRUNFW_REAL, "libkrunfw 5.2.1 contents", "rwxr-xr-x");
    Files.createSymbolicLink(dir.resolve("libkrunfw.so.5"), Path.of(KRUNFW_REAL));
    Files.createSymbolicLink(dir.resolve("libkrunfw.so"), Path.of("libkrunfw.so.5"));
    return shim;
  }

  public Path dir() {
    return dir;
  }

  public Path shim() {
    return dir.resolve("box-shim");
  }

  /** Writes (or rewrites) a file of the installation with the given permissions. */
  public Path write(String name, String content, String permissions) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
    return file;
  }
}
