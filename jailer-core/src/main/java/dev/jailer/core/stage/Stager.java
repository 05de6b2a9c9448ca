package dev.jailer.core.stage;

import com.google.common.collect.ImmutableList;
import com.google.common.io.MoreFiles;
import dev.jailer.core.JailerException;
import dev.jailer.core.JailerException.Violation;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.box.RecordFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * Stages a box: validates the request, creates the box directory and copies the shim and its
 * libkrunfw into {@code bin/} (DESIGN.md sections 1, 3 and 6).
 *
 * <p>Guarantees: every refusal happens before anything is written; each copy is a new inode
 * written under a temporary name, flushed and renamed into place, so a crash never leaves a
 * truncated file and an entry planted at the destination (a symlink, another hard link) is
 * replaced rather than followed; copies keep the permission bits but never setuid or setgid;
 * an unchanged source is not copied again. Callers serialise Stage calls on one box.
 */
public final class Stager {
  private static final Logger logger = Logger.getLogger(Stager.class.getName());
  private static final int COPY_BUFFER_BYTES = 1 << 20;
  private static final Set<PosixFilePermission> DIR_PRIVATE =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> DIR_TRAVERSE =
      PosixFilePermissions.fromString("rwx--x--x");
  private static final Set<PosixFilePermission> DIR_READABLE =
      PosixFilePermissions.fromString("rwxr-xr-x");

  private final Platform platform;
  private final ShimLibraries libraries;
  private final Path stateDir;
  private final ImmutableList<Path> allowedShimDirs;
  private final ImmutableList<Path> allowedVolumeRoots;

  /**
   * @param platform decides which libraries travel and the socket path limit
   * @param stateDir the jailer's state directory; volumes may not overlap it
   * @param allowedShimDirs directories shims may be staged from (resolved here)
   * @param allowedVolumeRoots directories below which volumes may lie (resolved here)
   */
  public Stager(
      Platform platform,
      Path stateDir,
      List<Path> allowedShimDirs,
      List<Path> allowedVolumeRoots) {
    this.platform = platform;
    this.libraries = new ShimLibraries(platform);
    this.stateDir = realOrNormal(stateDir);
    this.allowedShimDirs = allowedShimDirs.stream().map(Stager::realOrNormal).collect(
        ImmutableList.toImmutableList());
    this.allowedVolumeRoots = allowedVolumeRoots.stream().map(Stager::realOrNormal).collect(
        ImmutableList.toImmutableList());
  }

  /** The resolved shim directories the operator allowed. */
  public ImmutableList<Path> allowedShimDirs() {
    return allowedShimDirs;
  }

  /**
   * Stages the box at {@code layout}.
   *
   * @param previous the record of the box's last Stage, if any: unchanged entries are kept
   * @return the new record; its entries say which were copied by this call
   * @throws JailerException INVALID_ARGUMENT for a malformed request, PERMISSION_DENIED for a
   *     shim or volume outside the allowed directories, INTERNAL for an I/O failure
   */
  public StageRecord stage(
      BoxLayout layout, String shimPath, List<VolumeSpec> volumes, Optional<StageRecord> previous) {
    checkSyntax(shimPath, volumes);
    checkSocketPathFits(layout);
    Path realShim = resolveShim(shimPath);
    List<VolumeSpec> resolvedVolumes = resolveVolumes(volumes);
    Path shimDir = realShim.getParent();
    Map<String, Source> sources = collectSources(realShim, shimDir);

    boolean created = createLayout(layout);
    Map<String, StagedEntry> before = new HashMap<>();
    previous.ifPresent(p -> p.files().forEach(f -> before.put(f.name(), f)));
    List<StagedEntry> entries = new ArrayList<>();
    for (Source source : sources.values()) {
      if (!source.isLink()) {
        entries.add(stageFile(layout.bin(), source, before.get(source.name())));
      }
    }
    Map<String, StagedEntry> byName = new HashMap<>();
    entries.forEach(e -> byName.put(e.name(), e));
    for (Source source : sources.values()) {
      if (source.isLink()) {
        StagedEntry target = resolveLinkEntry(source.linkTarget(), sources, byName);
        entries.add(stageLink(layout.bin(), source, target, before.get(source.name())));
      }
    }
    boolean removed = removeStrays(layout.bin(), sources.keySet());
    Map<String, String> fingerprint = fingerprintLibraries(shimDir);
    ImmutableList<StagedEntry> staged = ImmutableList.copyOf(entries);
    Optional<StageRecord> unchanged =
        created || removed || staged.stream().anyMatch(StagedEntry::copied)
            ? Optional.empty()
            : previous.filter(p -> p.shimPath().equals(shimPath)
                && p.realShimPath().equals(realShim.toString())
                && p.shimDir().equals(shimDir.toString())
                && p.volumes().equals(resolvedVolumes)
                && p.libraryFingerprint().equals(fingerprint)
                && p.files().stream().map(f -> f.withCopied(false)).toList().equals(staged));
    if (unchanged.isPresent()) {
      // Nothing on disk changed, and the record on disk already says so: skipping the fsyncs
      // of bin/ and of a rewritten record makes an unchanged Stage cost about as much as an
      // Inspect instead of two disk flushes (measured by scripts/bench).
      StageRecord p = unchanged.get();
      return new StageRecord(p.shimPath(), p.realShimPath(), p.shimDir(), p.shimName(),
          p.volumes(), staged, p.libraryFingerprint(), p.stagedAtMillis());
    }
    syncDirectory(layout.bin());

    StageRecord record =
        new StageRecord(
            shimPath,
            realShim.toString(),
            shimDir.toString(),
            realShim.getFileName().toString(),
            resolvedVolumes,
            staged,
            fingerprint,
            System.currentTimeMillis());
    RecordFiles.write(layout.stageRecord(), record);
    return record;
  }

  /**
   * Identity of every library left in {@code shimDir}. Spawn compares it with the record of the
   * last Stage and names the entries that differ.
   */
  public Map<String, String> fingerprintLibraries(Path shimDir) {
    Map<String, String> fingerprint = new TreeMap<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(shimDir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (libraries.isLibraryLeftBehind(name)) {
          fingerprint.put(name, identity(entry));
        }
      }
    } catch (IOException e) {
      throw JailerException.internal("cannot list " + shimDir + ": " + e.getMessage(), e);
    }
    return fingerprint;
  }

  /** Names whose identity differs between two fingerprints (added, removed or changed). */
  public static List<String> changedLibraries(
      Map<String, String> staged, Map<String, String> now) {
    Set<String> names = new java.util.TreeSet<>(staged.keySet());
    names.addAll(now.keySet());
    List<String> changed = new ArrayList<>();
    for (String name : names) {
      if (!java.util.Objects.equals(staged.get(name), now.get(name))) {
        changed.add(name);
      }
    }
    return changed;
  }

  private void checkSyntax(String shimPath, List<VolumeSpec> volumes) {
    List<Violation> violations = new ArrayList<>();
    if (shimPath == null || shimPath.isEmpty()) {
      violations.add(new Violation("shim_path", "is required"));
    } else if (shimPath.indexOf('\0') >= 0) {
      violations.add(new Violation("shim_path", "contains a NUL character"));
    } else if (!Path.of(shimPath).isAbsolute()) {
      violations.add(new Violation("shim_path", "must be an absolute path, got " + shimPath));
    }
    Set<String> guestPaths = new HashSet<>();
    for (int i = 0; i < volumes.size(); i++) {
      VolumeSpec volume = volumes.get(i);
      String field = "volumes[" + i + "]";
      checkAbsolute(violations, field + ".host_path", volume.hostPath());
      if (checkAbsolute(violations, field + ".guest_path", volume.guestPath())) {
        String guest = Path.of(volume.guestPath()).normalize().toString();
        if (!guestPaths.add(guest)) {
          violations.add(
              new Violation(
                  field + ".guest_path",
                  "guest path " + guest + " is used by an earlier volume; give each its own"));
        }
      }
    }
    if (!violations.isEmpty()) {
      throw JailerException.invalidArguments(violations);
    }
  }

  private static boolean checkAbsolute(List<Violation> violations, String field, String value) {
    if (value == null || value.isEmpty()) {
      violations.add(new Violation(field, "is required"));
      return false;
    }
    if (value.indexOf('\0') >= 0) {
      violations.add(new Violation(field, "contains a NUL character"));
      return false;
    }
    if (!Path.of(value).isAbsolute()) {
      violations.add(new Violation(field, "must be an absolute path, got " + value));
      return false;
    }
    return true;
  }

  private void checkSocketPathFits(BoxLayout layout) {
    int length = layout.longestSocketPathBytes();
    int limit = platform.maxSocketPathBytes();
    if (length > limit) {
      throw JailerException.invalidArgument(
          "box_id",
          "the box's socket paths would be "
              + length
              + " bytes long ("
              + layout.sockets()
              + "/ plus "
              + BoxLayout.SOCKET_NAME_RESERVE
              + " bytes for a socket name), over this platform's limit of "
              + limit
              + " bytes; use a shorter box id or a shorter --state-dir");
    }
  }

  private Path resolveShim(String shimPath) {
    Path lexical = Path.of(shimPath).normalize();
    // The lexical check comes first so that a caller cannot probe which files exist outside the
    // allowed directories from the error messages.
    if (findAllowed(lexical, allowedShimDirs).isEmpty() && !isBelowResolved(lexical,
        allowedShimDirs)) {
      throw JailerException.permissionDenied(
          "shim_path", lexical + " is not inside an allowed shim directory " + describeShimDirs());
    }
    Path real;
    try {
      real = lexical.toRealPath();
    } catch (NoSuchFileException e) {
      throw JailerException.invalidArgument("shim_path", lexical + " does not exist");
    } catch (IOException e) {
      throw JailerException.invalidArgument(
          "shim_path", "cannot resolve " + lexical + ": " + e.getMessage());
    }
    if (findAllowed(real, allowedShimDirs).isEmpty()) {
      throw JailerException.permissionDenied(
          "shim_path",
          lexical
              + " resolves to "
              + real
              + ", which is not inside an allowed shim directory "
              + describeShimDirs());
    }
    if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
      throw JailerException.invalidArgument("shim_path", real + " is not a regular file");
    }
    if ((mode(real) & 0111) == 0) {
      throw JailerException.invalidArgument(
          "shim_path", real + " is not executable; set its execute permission (chmod +x)");
    }
    return real;
  }

  // Lets an allowed directory that is itself reached through a symlink (for example
  // /usr/local -> /opt/local) accept the unresolved spelling of a path below it.
  private static boolean isBelowResolved(Path lexical, List<Path> roots) {
    for (Path parent = lexical.getParent(); parent != null; parent = parent.getParent()) {
      if (roots.contains(realOrNormal(parent))) {
        return true;
      }
    }
    return false;
  }

  private String describeShimDirs() {
    return allowedShimDirs.isEmpty()
        ? "(none are allowed: start the server with --allow-shim-dir DIR)"
        : allowedShimDirs.toString() + " (the server's --allow-shim-dir)";
  }

  private List<VolumeSpec> resolveVolumes(List<VolumeSpec> volumes) {
    List<VolumeSpec> resolved = new ArrayList<>();
    for (int i = 0; i < volumes.size(); i++) {
      VolumeSpec volume = volumes.get(i);
      String field = "volumes[" + i + "].host_path";
      Path lexical = Path.of(volume.hostPath()).normalize();
      if (findAllowed(lexical, allowedVolumeRoots).isEmpty()
          && !isBelowResolved(lexical, allowedVolumeRoots)) {
        throw JailerException.permissionDenied(field, lexical + " is not below an allowed "
            + "volume root " + describeVolumeRoots());
      }
      Path real;
      try {
        real = lexical.toRealPath();
      } catch (NoSuchFileException e) {
        throw JailerException.invalidArgument(field, lexical + " does not exist");
      } catch (IOException e) {
        throw JailerException.invalidArgument(
            field, "cannot resolve " + lexical + ": " + e.getMessage());
      }
      if (findAllowed(real, allowedVolumeRoots).isEmpty()) {
        throw JailerException.permissionDenied(
            field,
            lexical + " resolves to " + real + ", which is not below an allowed volume root "
                + describeVolumeRoots());
      }
      if (real.startsWith(stateDir) || stateDir.startsWith(real)) {
        throw JailerException.permissionDenied(
            field,
            real + " overlaps the jailer's state directory " + stateDir
                + "; a volume must never expose the records of any box");
      }
      resolved.add(
          new VolumeSpec(
              real.toString(), Path.of(volume.guestPath()).normalize().toString(),
              volume.readOnly()));
    }
    return resolved;
  }

  private String describeVolumeRoots() {
    return allowedVolumeRoots.isEmpty()
        ? "(none are allowed: start the server with --allow-volume-root DIR)"
        : allowedVolumeRoots.toString() + " (the server's --allow-volume-root)";
  }

  private static Optional<Path> findAllowed(Path path, List<Path> roots) {
    return roots.stream().filter(path::startsWith).findFirst();
  }

  /** A file to place in {@code bin/}: the shim, or a libkrunfw file or link. */
  private record Source(String name, Path path, String linkTarget) {
    boolean isLink() {
      return linkTarget != null;
    }
  }

  private Map<String, Source> collectSources(Path realShim, Path shimDir) {
    Map<String, Source> sources = new LinkedHashMap<>();
    sources.put(realShim.getFileName().toString(),
        new Source(realShim.getFileName().toString(), realShim, null));
    List<Path> names = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(shimDir)) {
      for (Path entry : entries) {
        if (libraries.isKrunfw(entry.getFileName().toString())) {
          names.add(entry);
        }
      }
    } catch (IOException e) {
      throw JailerException.internal("cannot list " + shimDir + ": " + e.getMessage(), e);
    }
    names.sort(null);
    Set<String> set = new HashSet<>();
    names.forEach(p -> set.add(p.getFileName().toString()));
    for (Path entry : names) {
      String name = entry.getFileName().toString();
      if (sources.containsKey(name)) {
        continue;
      }
      if (Files.isSymbolicLink(entry)) {
        sources.put(name, linkSource(entry, shimDir, set));
      } else if (Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
        sources.put(name, new Source(name, entry, null));
      } else {
        logger.fine(() -> "ignoring " + entry + ": neither a file nor a symlink");
      }
    }
    return sources;
  }

  private Source linkSource(Path entry, Path shimDir, Set<String> set) {
    String name = entry.getFileName().toString();
    Path real;
    String literal;
    try {
      literal = Files.readSymbolicLink(entry).toString();
      real = entry.toRealPath();
    } catch (IOException e) {
      throw JailerException.failedPrecondition(
          entry + " is a broken symlink (" + e.getMessage() + "); fix the shim's installation");
    }
    // A link to another member of the set is recreated as a link: it costs no bytes and keeps
    // the release's naming. The literal target is kept when it is a plain name of the set, so
    // chains such as libkrunfw.so -> libkrunfw.so.5 -> libkrunfw.so.5.2.1 survive as they are.
    if (!literal.contains("/") && set.contains(literal)) {
      return new Source(name, entry, literal);
    }
    if (real.getParent().equals(shimDir) && set.contains(real.getFileName().toString())) {
      return new Source(name, entry, real.getFileName().toString());
    }
    if (findAllowed(real, allowedShimDirs).isEmpty()) {
      throw JailerException.permissionDenied(
          "shim_path",
          entry + " points to " + real + ", outside the allowed shim directories "
              + describeShimDirs());
    }
    return new Source(name, real, null);
  }

  // True when a directory had to be made (a new box, or one that lost a directory).
  private boolean createLayout(BoxLayout layout) {
    try {
      Path boxes = layout.dir().getParent();
      boolean created = createDirectory(boxes.getParent(), DIR_TRAVERSE);
      created |= createDirectory(boxes, DIR_TRAVERSE);
      created |= createDirectory(layout.dir(), DIR_TRAVERSE);
      created |= createDirectory(layout.bin(), DIR_READABLE);
      for (Path dir : layout.writableDirs()) {
        created |= createDirectory(dir, DIR_PRIVATE);
      }
      created |= createDirectory(layout.mounts(), DIR_PRIVATE);
      created |= createDirectory(layout.jailer(), DIR_PRIVATE);
      return created;
    } catch (IOException e) {
      throw JailerException.internal(
          "cannot create the box directory " + layout.dir() + ": " + e.getMessage(), e);
    }
  }

  private static boolean createDirectory(Path dir, Set<PosixFilePermission> permissions)
      throws IOException {
    try {
      Files.createDirectory(dir);
      Files.setPosixFilePermissions(dir, permissions);
      return true;
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(dir + " exists and is not a directory (a symlink?)", e);
      }
      return false;
    }
  }

  private StagedEntry stageFile(Path bin, Source source, StagedEntry before) {
    Path dest = bin.resolve(source.name());
    String sourceId = identity(source.path());
    if (before != null
        && !before.isLink()
        && sourceId.equals(before.sourceIdentity())
        && identityOrEmpty(dest).equals(before.destIdentity())) {
      return before.withCopied(false);
    }
    Path tmp = RecordFiles.tempSibling(dest);
    try {
      String sha256 = copyAndHash(source.path(), tmp);
      Files.setPosixFilePermissions(tmp, permissionsWithoutSetId(mode(source.path())));
      RecordFiles.moveAtomically(tmp, dest);
      long size = Files.size(dest);
      logger.fine(() -> "copied " + source.path() + " to " + dest);
      return new StagedEntry(source.name(), size, sha256, "", sourceId, identity(dest), true);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw JailerException.internal(
          "cannot copy " + source.path() + " to " + dest + ": " + e.getMessage(), e);
    }
  }

  private StagedEntry stageLink(Path bin, Source source, StagedEntry target, StagedEntry before) {
    Path dest = bin.resolve(source.name());
    String current = readLinkOrEmpty(dest);
    boolean unchanged =
        before != null && before.isLink() && source.linkTarget().equals(current);
    if (!unchanged) {
      Path tmp = RecordFiles.tempSibling(dest);
      try {
        Files.createSymbolicLink(tmp, Path.of(source.linkTarget()));
        RecordFiles.moveAtomically(tmp, dest);
      } catch (IOException e) {
        deleteQuietly(tmp);
        throw JailerException.internal("cannot create symlink " + dest + ": " + e.getMessage(), e);
      }
    }
    return new StagedEntry(
        source.name(),
        target.sizeBytes(),
        target.sha256(),
        source.linkTarget(),
        source.linkTarget(),
        source.linkTarget(),
        !unchanged);
  }

  // Follows a chain of links inside the set to the regular file it ends at.
  private static StagedEntry resolveLinkEntry(
      String target, Map<String, Source> sources, Map<String, StagedEntry> files) {
    String name = target;
    for (int hops = 0; hops <= sources.size(); hops++) {
      Source source = sources.get(name);
      if (source == null) {
        break;
      }
      if (!source.isLink()) {
        return files.get(name);
      }
      name = source.linkTarget();
    }
    throw JailerException.failedPrecondition(
        "the libkrunfw symlinks of the shim's directory form a loop or point to a missing "
            + "file (at " + target + "); fix the shim's installation");
  }

  private static String readLinkOrEmpty(Path path) {
    try {
      return Files.readSymbolicLink(path).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return "";
    }
  }

  // True when something was removed.
  private boolean removeStrays(Path bin, Set<String> keep) {
    boolean removed = false;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(bin)) {
      for (Path entry : entries) {
        if (keep.contains(entry.getFileName().toString())) {
          continue;
        }
        removed = true;
        logger.fine(() -> "removing " + entry + ": no longer part of the staged set");
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          MoreFiles.deleteRecursively(entry);
        } else {
          Files.delete(entry);
        }
      }
      return removed;
    } catch (IOException e) {
      throw JailerException.internal("cannot clean " + bin + ": " + e.getMessage(), e);
    }
  }

  private static void syncDirectory(Path dir) {
    // fsync of the directory makes the renames durable; without it a crash could forget them.
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      logger.fine(() -> "cannot fsync " + dir + ": " + e.getMessage());
    }
  }

  private static String copyAndHash(Path source, Path dest) throws IOException {
    MessageDigest sha256 = sha256();
    ByteBuffer buffer = ByteBuffer.allocateDirect(COPY_BUFFER_BYTES);
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
        FileChannel out =
            FileChannel.open(
                dest,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
      while (in.read(buffer) >= 0) {
        buffer.flip();
        sha256.update(buffer.duplicate());
        while (buffer.hasRemaining()) {
          out.write(buffer);
        }
        buffer.clear();
      }
      out.force(true);
    }
    return HexFormat.of().formatHex(sha256.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every Java platform has SHA-256", e);
    }
  }

  static Set<PosixFilePermission> permissionsWithoutSetId(int mode) {
    // Only the rwx bits survive: setuid and setgid would make the copy run with the rights of
    // its owner (root), and the sticky bit means nothing on a regular file.
    Set<PosixFilePermission> permissions = new HashSet<>();
    PosixFilePermission[] order = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_READ
    };
    for (int bit = 0; bit < order.length; bit++) {
      if ((mode & (1 << bit)) != 0) {
        permissions.add(order[bit]);
      }
    }
    return permissions;
  }

  private static int mode(Path path) {
    try {
      return (Integer) Files.getAttribute(path, "unix:mode");
    } catch (IOException e) {
      throw JailerException.internal("cannot stat " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Identity of a file without reading it: size, modification and change times, and inode. Any
   * rewrite or replacement changes at least one of them (a change time cannot be set back by an
   * ordinary write).
   */
  static String identity(Path path) {
    try {
      Map<String, Object> attrs =
          Files.readAttributes(path, "unix:size,lastModifiedTime,ctime,ino",
              LinkOption.NOFOLLOW_LINKS);
      return attrs.get("size") + ":" + nanos(attrs.get("lastModifiedTime")) + ":"
          + nanos(attrs.get("ctime")) + ":" + attrs.get("ino")
          + (Files.isSymbolicLink(path) ? "->" + Files.readSymbolicLink(path) : "");
    } catch (IOException e) {
      throw JailerException.internal("cannot stat " + path + ": " + e.getMessage(), e);
    }
  }

  private static String identityOrEmpty(Path path) {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return "";
    }
    return identity(path);
  }

  private static long nanos(Object time) {
    return ((FileTime) time).to(java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  private static Path realOrNormal(Path path) {
    Path absolute = path.toAbsolutePath().normalize();
    try {
      return absolute.toRealPath();
    } catch (IOException e) {
      return absolute;
    }
  }

  private static void deleteQuietly(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException ignored) {
      // A leftover temporary file is removed by the next Stage of the box.
    }
  }
}
