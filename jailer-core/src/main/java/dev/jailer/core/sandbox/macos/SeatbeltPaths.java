package dev.jailer.core.sandbox.macos;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.nio.file.Path;

/**
 * Puts a host path into the form the macOS sandbox compares against before it travels to {@code
 * sandbox-exec} as a parameter value.
 *
 * <p>The Seatbelt kernel policy matches the path of the vnode being accessed, which is the path
 * after symlinks are resolved. On macOS {@code /var}, {@code /tmp} and {@code /etc} are symlinks
 * into {@code /private}, so a rule for {@code /tmp/box} never matches anything: the kernel only
 * ever sees {@code /private/tmp/box}. This class rewrites those three prefixes. It is pure string
 * work and behaves the same on every host, so it is testable on Linux.
 *
 * <p>It does not resolve other symlinks: the paths the jailer grants are resolved when a box is
 * staged, and this class only repairs the fixed system links a resolved path may still start with
 * (a state directory configured as {@code /tmp/jailer}, for example).
 */
public final class SeatbeltPaths {
  /** The macOS system symlinks into {@code /private}; fixed since Mac OS X 10.0. */
  private static final ImmutableList<String> PRIVATE_LINKS =
      ImmutableList.of("/var", "/tmp", "/etc");

  private SeatbeltPaths() {}

  /**
   * Returns {@code path} in canonical Seatbelt form; see {@link #canonicalize(String)}.
   *
   * @throws IllegalArgumentException as {@link #canonicalize(String)} does
   */
  public static String canonicalize(Path path) {
    requireNonNull(path, "path");
    return canonicalize(path.toString());
  }

  /**
   * Returns {@code path} with a leading {@code /var}, {@code /tmp} or {@code /etc} component
   * replaced by {@code /private/var}, {@code /private/tmp} or {@code /private/etc}, also when the
   * path is exactly one of them. {@code /variable} is left alone: only whole components match.
   *
   * <p>The path must already be absolute and normalised, and this method refuses rather than
   * repairs one that is not: collapsing {@code ..} without looking at the file system changes what
   * a path names when a component is a symlink, so a silent fix could grant the wrong directory.
   *
   * @throws IllegalArgumentException if the path is empty, relative, contains a NUL character (the
   *     C string a NUL cuts short would name a different file), an empty component ({@code //}), a
   *     trailing slash (other than the root itself), or a {@code .} or {@code ..} component. These
   *     are programming errors: request paths are validated, with a field name, before a sandbox is
   *     built.
   */
  public static String canonicalize(String path) {
    requireNonNull(path, "path");
    if (path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("sandbox path contains a NUL character");
    }
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("sandbox path must be absolute: " + path);
    }
    if (!path.equals("/")) {
      checkComponents(path);
    }

    for (String link : PRIVATE_LINKS) {
      if (path.equals(link) || path.startsWith(link + "/")) {
        return "/private" + path;
      }
    }
    return path;
  }

  private static void checkComponents(String path) {
    // Component by component over the text after the leading slash; split(-1) keeps the empty
    // strings that "//" and a trailing "/" produce so they can be refused.
    for (String component : path.substring(1).split("/", -1)) {
      if (component.isEmpty()) {
        throw new IllegalArgumentException(
            "sandbox path has an empty component or a trailing slash: " + path);
      }
      if (component.equals(".") || component.equals("..")) {
        throw new IllegalArgumentException(
            "sandbox path must be normalised (no '.' or '..'): " + path);
      }
    }
  }
}
