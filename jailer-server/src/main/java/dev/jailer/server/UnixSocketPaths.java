package dev.jailer.server;

import com.sun.security.auth.module.UnixSystem;
import dev.jailer.core.Platform;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Makes a Unix socket path safe to bind: its directory exists, belongs to this process's user
 * and admits nobody else, and nothing live holds the path.
 *
 * <p>grpc-java binds a Unix socket with the process umask, so a socket created in a shared
 * directory is briefly reachable by anyone before a chmod. Binding only inside a directory only
 * the owner can enter closes that window; the chmod to 0600 afterwards is a second fence.
 */
final class UnixSocketPaths {
  private static final Logger logger = Logger.getLogger(UnixSocketPaths.class.getName());

  // S_IFMT and S_IFSOCK of <sys/stat.h>: the file type bits of st_mode and the socket type.
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  static final Set<PosixFilePermission> OWNER_ONLY_DIR =
      PosixFilePermissions.fromString("rwx------");
  static final Set<PosixFilePermission> OWNER_ONLY_SOCKET =
      PosixFilePermissions.fromString("rw-------");

  private UnixSocketPaths() {}

  /** The uid this process runs as. */
  static long processUid() {
    return new UnixSystem().getUid();
  }

  /**
   * Prepares {@code socket} for binding: checks its length, creates missing directories up to
   * its parent with mode 0700, refuses a parent that others can enter or that another user
   * owns, and deletes a stale socket left by a crashed server.
   *
   * @throws ServerStartException naming the path and what the operator can do about it
   */
  static void prepare(Path socket) throws ServerStartException {
    checkLength(socket);
    Path dir = socket.getParent();
    createPrivateDirectories(dir);
    checkPrivateDirectory(socket, dir);
    clearStaleSocket(socket);
  }

  static void checkLength(Path socket) throws ServerStartException {
    checkLength(socket, Platform.current());
  }

  /**
   * Refuses a socket path longer than {@code platform} allows: 107 bytes on Linux, 103 on macOS
   * ({@code sun_path} with its terminating NUL).
   *
   * @throws ServerStartException naming the path, its length and the limit
   */
  static void checkLength(Path socket, Platform platform) throws ServerStartException {
    int limit = platform.maxSocketPathBytes();
    int length = socket.toString().getBytes(StandardCharsets.UTF_8).length;
    if (length > limit) {
      throw new ServerStartException(
          String.format(
              Locale.ROOT,
              "unix socket path %s is %d bytes, over the limit of %d on this platform;"
                  + " choose a shorter --listen or --state-dir",
              socket,
              length,
              limit));
    }
  }

  private static void createPrivateDirectories(Path dir) throws ServerStartException {
    Deque<Path> missing = new ArrayDeque<>();
    Path p = dir;
    while (p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      missing.push(p);
      p = p.getParent();
    }
    for (Path created : missing) {
      try {
        Files.createDirectory(created, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
        // The create mode passes through the umask; set it again so it is exactly 0700.
        Files.setPosixFilePermissions(created, OWNER_ONLY_DIR);
      } catch (FileAlreadyExistsException e) {
        // Someone created it meanwhile; checkPrivateDirectory decides whether it is safe.
        continue;
      } catch (IOException e) {
        throw new ServerStartException(
            "cannot create socket directory " + created + ": " + e, e);
      }
    }
  }

  private static void checkPrivateDirectory(Path socket, Path dir) throws ServerStartException {
    PosixFileAttributes attrs;
    int uid;
    try {
      attrs = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      uid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new ServerStartException("cannot read socket directory " + dir + ": " + e, e);
    }
    String refusal = "refusing to listen on unix:" + socket + ": ";
    if (attrs.isSymbolicLink()) {
      throw new ServerStartException(
          refusal + "its directory " + dir + " is a symbolic link; give the real directory");
    }
    if (!attrs.isDirectory()) {
      throw new ServerStartException(refusal + dir + " is not a directory");
    }
    long self = processUid();
    if (uid != self) {
      throw new ServerStartException(
          refusal
              + "its directory "
              + dir
              + " is owned by uid "
              + uid
              + ", not by this server's uid "
              + self
              + "; run 'chown "
              + self
              + " "
              + dir
              + "' or choose another directory");
    }
    Set<PosixFilePermission> perms = attrs.permissions();
    if (!OWNER_ONLY_DIR.containsAll(perms)) {
      throw new ServerStartException(
          refusal
              + "its directory "
              + dir
              + " has mode "
              + PosixFilePermissions.toString(perms)
              + ", which lets other users reach the socket; run 'chmod 0700 "
              + dir
              + "'");
    }
  }

  private static void clearStaleSocket(Path socket) throws ServerStartException {
    int mode;
    try {
      mode = (Integer) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      throw new ServerStartException("cannot inspect " + socket + ": " + e, e);
    }
    if ((mode & S_IFMT) != S_IFSOCK) {
      throw new ServerStartException(
          "refusing to listen on unix:"
              + socket
              + ": the path exists and is not a socket; remove it or choose another path");
    }
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(socket));
      throw new ServerStartException(
          "refusing to listen on unix:"
              + socket
              + ": another live server accepts connections there; stop it or choose another"
              + " --listen path");
    } catch (ConnectException e) {
      // Connection refused: nothing listens, so the file is what a crashed server left.
      // Limitation: a server that binds the same path between this check and our bind is
      // replaced; a 0700 directory limits that to processes of the same user.
      deleteStale(socket);
    } catch (IOException e) {
      throw new ServerStartException("cannot probe existing socket " + socket + ": " + e, e);
    }
  }

  private static void deleteStale(Path socket) throws ServerStartException {
    try {
      Files.deleteIfExists(socket);
      logger.info("replaced stale socket " + socket + " left by a server that is gone");
    } catch (IOException e) {
      throw new ServerStartException("cannot delete stale socket " + socket + ": " + e, e);
    }
  }
}
