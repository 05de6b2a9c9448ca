package dev.jailer.core.cgroup;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import dev.jailer.core.JailerException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Where this host keeps each cgroup controller a box needs, and the operations that create,
 * find and clean up box cgroups there.
 *
 * <p>Each controller ({@code memory}, {@code cpu}, {@code cpuacct}, {@code pids}) is placed on
 * the v2 (unified) hierarchy when that hierarchy's {@code cgroup.controllers} offers it, else on
 * its v1 hierarchy, else it is missing. On hybrid hosts the v2 mount often offers nothing, and
 * every controller is on v1; a v2 mount may also offer only some. A box's cgroup is
 * {@code <mount point>/<parent>/<box id>} in every hierarchy that holds one of its controllers.
 *
 * <p>The placement is read once, when the instance is made; instances are immutable and
 * thread-safe.
 */
public final class CgroupHost {
  private static final Logger logger = Logger.getLogger(CgroupHost.class.getName());

  /** The parent cgroup name used when the operator configures none. */
  public static final String DEFAULT_PARENT = "jailer";

  private static final Pattern BOX_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  private static final Pattern PARENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  /**
   * The limits written into the probe cgroup of {@link #preflight}: any valid value proves that
   * a limit file can be written.
   */
  private static final CgroupLimits PROBE_LIMITS = new CgroupLimits(256L << 20, 1000, 1024);

  private static final String NO_PERMISSION_FIX =
      "run the server as root or delegate that cgroup to its user";

  /**
   * Where one controller lives.
   *
   * @param controller the kernel's controller name
   * @param mountPoint the hierarchy's mount point (after relocation, see
   *     {@link #fromMountInfo})
   * @param unified true for the v2 hierarchy
   */
  public record Placement(String controller, Path mountPoint, boolean unified) {
    public Placement {
      requireNonNull(controller, "controller");
      requireNonNull(mountPoint, "mountPoint");
    }
  }

  /** One mounted hierarchy and the box controllers placed on it. */
  private record Hierarchy(Path mountPoint, boolean unified, Set<Controller> controllers) {}

  private final ImmutableMap<Controller, Placement> placements;
  private final ImmutableList<Hierarchy> hierarchies;

  private CgroupHost(Map<Controller, Placement> placements) {
    this.placements = ImmutableMap.copyOf(new EnumMap<>(placements));
    Map<Path, Hierarchy> byMount = new LinkedHashMap<>();
    for (Map.Entry<Controller, Placement> entry : this.placements.entrySet()) {
      Placement placement = entry.getValue();
      byMount
          .computeIfAbsent(
              placement.mountPoint(),
              mount -> new Hierarchy(mount, placement.unified(), EnumSet.noneOf(Controller.class)))
          .controllers()
          .add(entry.getKey());
    }
    this.hierarchies = ImmutableList.copyOf(byMount.values());
  }

  /**
   * Reads this process's {@code /proc/self/mountinfo} and places each controller. A host
   * without it (not Linux) has every controller missing, which {@link #preflight} reports.
   */
  public static CgroupHost detect() {
    String mountInfo;
    try {
      mountInfo = Files.readString(Path.of("/proc/self/mountinfo"));
    } catch (IOException e) {
      logger.log(Level.FINE, "cannot read /proc/self/mountinfo: {0}", CgroupFiles.reason(e));
      mountInfo = "";
    }
    return fromMountInfo(mountInfo, Path.of("/"));
  }

  /**
   * Places each controller from the given mountinfo text. Every mount point is resolved below
   * {@code root} ({@code /} on a real host), so a test can imitate {@code /sys/fs/cgroup} in a
   * directory of its own; the v2 {@code cgroup.controllers} file is read there too.
   *
   * @param mountInfo text in the format of {@code /proc/self/mountinfo}; lines that do not
   *     parse are ignored
   * @param root the directory the absolute mount points are taken relative to
   */
  public static CgroupHost fromMountInfo(String mountInfo, Path root) {
    requireNonNull(mountInfo, "mountInfo");
    requireNonNull(root, "root");
    Path unifiedMount = null;
    Map<String, Path> v1Mounts = new LinkedHashMap<>();
    for (String line : mountInfo.split("\n")) {
      List<String> fields = Arrays.asList(line.trim().split(" "));
      int separator = fields.indexOf("-");
      // Fields: id, parent id, major:minor, root, mount point, options, optional fields..., "-",
      // filesystem type, source, super options.
      if (separator < 6 || fields.size() < separator + 4) {
        continue;
      }
      String type = fields.get(separator + 1);
      Path mountPoint = relocate(root, unescape(fields.get(4)));
      if (type.equals("cgroup2")) {
        // The first v2 mount wins; later ones are bind mounts of the same hierarchy.
        if (unifiedMount == null) {
          unifiedMount = mountPoint;
        }
      } else if (type.equals("cgroup")) {
        for (String option : fields.get(separator + 3).split(",")) {
          v1Mounts.putIfAbsent(option, mountPoint);
        }
      }
    }

    Set<String> offered = new TreeSet<>();
    if (unifiedMount != null) {
      String text = CgroupFiles.read(unifiedMount.resolve("cgroup.controllers")).orElse("");
      offered.addAll(Arrays.asList(text.trim().split("\\s+")));
    }

    Map<Controller, Placement> placements = new EnumMap<>(Controller.class);
    for (Controller controller : Controller.values()) {
      String name = controller.kernelName();
      // v2 has no cpuacct controller: the cpu.stat usage it reads is served by v2 "cpu", and
      // by the core of every v2 cgroup when no v1 cpuacct hierarchy exists either.
      String v2Name = controller == Controller.CPUACCT ? "cpu" : name;
      if (unifiedMount != null && offered.contains(v2Name)) {
        placements.put(controller, new Placement(name, unifiedMount, true));
      } else if (v1Mounts.containsKey(name)) {
        placements.put(controller, new Placement(name, v1Mounts.get(name), false));
      } else if (controller == Controller.CPUACCT && unifiedMount != null) {
        placements.put(controller, new Placement(name, unifiedMount, true));
      }
    }
    CgroupHost host = new CgroupHost(placements);
    logger.log(Level.FINE, "cgroup placement: {0}", host);
    return host;
  }

  /** Where each controller the host has lives, keyed by kernel name; missing ones are absent. */
  public Map<String, Placement> placements() {
    ImmutableMap.Builder<String, Placement> result = ImmutableMap.builder();
    placements.forEach((controller, placement) -> result.put(controller.kernelName(), placement));
    return result.buildOrThrow();
  }

  /** The controllers no hierarchy of this host offers, by kernel name. */
  public Set<String> missingControllers() {
    ImmutableSet.Builder<String> result = ImmutableSet.builder();
    for (Controller controller : Controller.values()) {
      if (!placements.containsKey(controller)) {
        result.add(controller.kernelName());
      }
    }
    return result.build();
  }

  /**
   * Checks by trying that box cgroups can be made under {@code parent}: in each hierarchy it
   * creates the parent if needed (enabling the v2 controllers for its children), creates a probe
   * cgroup under it, writes that probe's limit files and removes it again.
   *
   * @return one human-readable problem per failure, each with what to do about it; empty when
   *     box cgroups with every limit can be made
   * @throws JailerException INVALID_ARGUMENT when {@code parent} is not a valid cgroup name
   */
  public List<String> preflight(String parent) {
    checkParent(parent);
    List<String> problems = new ArrayList<>();
    for (Controller controller : Controller.values()) {
      if (!placements.containsKey(controller)) {
        problems.add(missingProblem(controller));
      }
    }

    // A probe name starts with "_", which no box id does, so it never meets a box's cgroup.
    String probe = "_probe-" + ProcessHandle.current().pid() + "-"
        + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    for (Hierarchy hierarchy : hierarchies) {
      try {
        BoxCgroup cgroup = createIn(List.of(hierarchy), parent, probe, PROBE_LIMITS);
        cgroup.remove();
      } catch (JailerException e) {
        problems.add(e.getMessage());
      }
    }
    logger.log(Level.FINE, "cgroup preflight under {0}: {1}", new Object[] {parent, problems});
    return problems;
  }

  /**
   * Creates the cgroup of box {@code boxId} under {@code parent} in every hierarchy that holds
   * one of the controllers the host has, and writes the requested limits: memory (with swap
   * limited to the same total, so swap adds nothing), a CPU quota over a 100 ms period, and a
   * pids limit. A directory left behind by a crash with no process in it is reused and every
   * limit rewritten.
   *
   * <p>Fails closed: a limit that was asked for and cannot be written fails the call, and on any
   * failure the box's directories made so far are removed again.
   *
   * @throws JailerException INVALID_ARGUMENT when a name is not valid; FAILED_PRECONDITION when a
   *     controller a requested limit needs is missing, a directory cannot be created, a limit
   *     file cannot be written (the message names the file and the errno text), or the box's
   *     cgroup already holds processes
   */
  public BoxCgroup create(String parent, String boxId, CgroupLimits limits) {
    checkParent(parent);
    checkBoxId(boxId);
    requireNonNull(limits, "limits");
    requireFor(limits.memoryBytes() > 0, Controller.MEMORY, "memory_bytes");
    requireFor(limits.cpuMillis() > 0, Controller.CPU, "cpu_millis");
    requireFor(limits.maxPids() > 0, Controller.PIDS, "max_pids");

    BoxCgroup cgroup = createIn(hierarchies, parent, boxId, limits);
    logger.log(Level.FINE, "created cgroup {0} with {1}", new Object[] {cgroup, limits});
    return cgroup;
  }

  /**
   * Finds the cgroup of box {@code boxId} made by an earlier {@link #create}, for example by a
   * jailer that ran before a restart.
   *
   * @return the box's cgroup with those of its directories that exist; empty when none does
   * @throws JailerException INVALID_ARGUMENT when a name is not valid
   */
  public Optional<BoxCgroup> open(String parent, String boxId) {
    checkParent(parent);
    checkBoxId(boxId);
    Map<Controller, Path> dirs = new EnumMap<>(Controller.class);
    Set<Controller> unified = EnumSet.noneOf(Controller.class);
    for (Hierarchy hierarchy : hierarchies) {
      Path dir = hierarchy.mountPoint().resolve(parent).resolve(boxId);
      if (Files.isDirectory(dir)) {
        for (Controller controller : hierarchy.controllers()) {
          dirs.put(controller, dir);
          if (hierarchy.unified()) {
            unified.add(controller);
          }
        }
      }
    }
    logger.log(Level.FINE, "open cgroup {0}/{1}: {2}", new Object[] {parent, boxId, dirs});
    return dirs.isEmpty() ? Optional.empty() : Optional.of(new BoxCgroup(boxId, dirs, unified));
  }

  /**
   * The box ids that have a cgroup under {@code parent} in any hierarchy but are not in
   * {@code knownBoxIds}, sorted. Directories whose names are not box ids (such as a probe of
   * {@link #preflight} in progress) are not listed.
   *
   * @throws JailerException INVALID_ARGUMENT when {@code parent} is not a valid cgroup name
   */
  public List<String> orphans(String parent, Set<String> knownBoxIds) {
    checkParent(parent);
    Set<String> result = new TreeSet<>();
    for (Hierarchy hierarchy : hierarchies) {
      Path parentDir = hierarchy.mountPoint().resolve(parent);
      if (!Files.isDirectory(parentDir)) {
        continue;
      }
      try (DirectoryStream<Path> children = Files.newDirectoryStream(parentDir)) {
        for (Path child : children) {
          String name = child.getFileName().toString();
          if (Files.isDirectory(child)
              && BOX_ID.matcher(name).matches()
              && !knownBoxIds.contains(name)) {
            result.add(name);
          }
        }
      } catch (IOException e) {
        logger.log(
            Level.WARNING, "cannot list cgroup {0}: {1}",
            new Object[] {parentDir, CgroupFiles.reason(e)});
      }
    }
    return ImmutableList.copyOf(result);
  }

  /**
   * Removes the {@link #orphans} that hold no process. An orphan that still holds processes is
   * left alone and logged as a WARNING: the jailer cannot tell what they are, so it does not
   * kill them.
   *
   * @return the box ids whose cgroups were removed
   * @throws JailerException INVALID_ARGUMENT when {@code parent} is not a valid cgroup name
   */
  public List<String> removeOrphans(String parent, Set<String> knownBoxIds) {
    List<String> removed = new ArrayList<>();
    for (String orphan : orphans(parent, knownBoxIds)) {
      Optional<BoxCgroup> cgroup = open(parent, orphan);
      if (cgroup.isEmpty()) {
        continue;
      }
      Set<Long> pids = cgroup.get().pids();
      if (!pids.isEmpty()) {
        logger.log(
            Level.WARNING,
            "cgroup {0} belongs to no known box but holds processes {1}; left in place, kill"
                + " them and remove the cgroup by hand if they are not wanted",
            new Object[] {cgroup.get().directories().values(), pids});
        continue;
      }
      try {
        cgroup.get().remove();
        removed.add(orphan);
      } catch (JailerException e) {
        logger.log(Level.WARNING, "cannot remove orphan cgroup: {0}", e.getMessage());
      }
    }
    return removed;
  }

  /** Creates {@code name} under {@code parent} in the given hierarchies, with the limits. */
  private BoxCgroup createIn(
      List<Hierarchy> targets, String parent, String name, CgroupLimits limits) {
    Map<Controller, Path> dirs = new EnumMap<>(Controller.class);
    Set<Controller> unified = EnumSet.noneOf(Controller.class);
    List<Path> made = new ArrayList<>();
    try {
      for (Hierarchy hierarchy : targets) {
        Path parentDir = ensureParent(hierarchy, parent);
        Path dir = parentDir.resolve(name);
        boolean reused = prepareDirectory(dir);
        made.add(dir);
        writeLimits(hierarchy, dir, limits, reused);
        for (Controller controller : hierarchy.controllers()) {
          dirs.put(controller, dir);
          if (hierarchy.unified()) {
            unified.add(controller);
          }
        }
      }
    } catch (RuntimeException e) {
      for (int i = made.size() - 1; i >= 0; i--) {
        try {
          BoxCgroup.removeDirectory(made.get(i), BoxCgroup.REMOVE_TIMEOUT);
        } catch (IOException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw e;
    }
    return new BoxCgroup(name, dirs, unified);
  }

  /**
   * Creates the parent cgroup if needed. On v2 a child only gets the controllers its parent
   * enabled in {@code cgroup.subtree_control}, so they are enabled in the hierarchy's root and
   * then in the parent.
   */
  private static Path ensureParent(Hierarchy hierarchy, String parent) {
    Path parentDir = hierarchy.mountPoint().resolve(parent);
    if (hierarchy.unified()) {
      enableControllers(hierarchy, hierarchy.mountPoint());
    }
    makeDirectory(parentDir);
    if (hierarchy.unified()) {
      enableControllers(hierarchy, parentDir);
    }
    return parentDir;
  }

  /** Writes "+memory +cpu +pids" (those of the hierarchy not enabled yet) to subtree_control. */
  private static void enableControllers(Hierarchy hierarchy, Path dir) {
    Path file = dir.resolve("cgroup.subtree_control");
    Set<String> enabled =
        new HashSet<>(Arrays.asList(CgroupFiles.read(file).orElse("").trim().split("\\s+")));
    StringBuilder missing = new StringBuilder();
    for (Controller controller : hierarchy.controllers()) {
      // cpuacct is not a v2 controller; its counters come with "cpu" or the cgroup core.
      if (controller != Controller.CPUACCT && !enabled.contains(controller.kernelName())) {
        missing.append(missing.length() == 0 ? "+" : " +").append(controller.kernelName());
      }
    }
    if (missing.length() == 0) {
      return;
    }
    try {
      CgroupFiles.write(file, missing.toString());
      logger.log(Level.FINE, "wrote \"{0}\" to {1}", new Object[] {missing, file});
    } catch (IOException e) {
      throw JailerException.failedPrecondition(
          "cannot enable controllers \"" + missing + "\" in " + file + ": "
              + CgroupFiles.reason(e) + "; " + NO_PERMISSION_FIX
              + " (a v2 cgroup that holds processes itself cannot enable controllers for its"
              + " children)",
          e);
    }
  }

  /** mkdir; an existing directory is fine. */
  private static void makeDirectory(Path dir) {
    try {
      Files.createDirectory(dir);
      logger.log(Level.FINE, "created cgroup directory {0}", dir);
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw JailerException.failedPrecondition(
            "cannot create cgroup " + dir + ": a file of that name exists", e);
      }
    } catch (IOException e) {
      throw JailerException.failedPrecondition(
          "cannot create cgroup " + dir + ": " + CgroupFiles.reason(e) + "; " + NO_PERMISSION_FIX,
          e);
    }
  }

  /**
   * Makes the box's directory. One left behind by a crash is removed first so the box starts
   * from the kernel's defaults; if it cannot be removed (it holds child cgroups) it is reused.
   *
   * @return true when an existing directory is reused, so every limit must be rewritten
   */
  private static boolean prepareDirectory(Path dir) {
    if (Files.isDirectory(dir)) {
      Set<Long> pids = CgroupFiles.readPids(dir.resolve("cgroup.procs"));
      if (!pids.isEmpty()) {
        throw JailerException.failedPrecondition(
            "cgroup " + dir + " already holds processes " + pids
                + "; the box is still running, stop it first");
      }
      try {
        Files.delete(dir);
        logger.log(Level.FINE, "removed stale cgroup {0}", dir);
      } catch (NoSuchFileException e) {
        // Gone in the meantime: made afresh below.
      } catch (IOException e) {
        logger.log(
            Level.FINE,
            "reusing stale cgroup {0} ({1})",
            new Object[] {dir, CgroupFiles.reason(e)});
        return true;
      }
    }
    makeDirectory(dir);
    return false;
  }

  /**
   * Writes the limits of the hierarchy's controllers. A limit left at 0 is written as
   * "unlimited" only in a reused directory; a fresh cgroup starts unlimited.
   */
  private static void writeLimits(
      Hierarchy hierarchy, Path dir, CgroupLimits limits, boolean reused) {
    boolean v2 = hierarchy.unified();
    for (Controller controller : hierarchy.controllers()) {
      switch (controller) {
        case MEMORY -> {
          long bytes = limits.memoryBytes();
          if (v2) {
            if (bytes > 0 || reused) {
              writeLimit(dir.resolve("memory.max"), bytes > 0 ? Long.toString(bytes) : "max");
              // Limitation: without swap accounting (no memory.swap.max) the box may still
              // use swap beyond its memory limit.
              writeIfPresent(dir.resolve("memory.swap.max"), bytes > 0 ? "0" : "max");
            }
          } else {
            Path limit = dir.resolve("memory.limit_in_bytes");
            Path memsw = dir.resolve("memory.memsw.limit_in_bytes");
            // The kernel keeps memsw >= limit; lifting a stale memsw first lets any new limit in.
            if (reused) {
              writeIfPresent(memsw, "-1");
            }
            if (bytes > 0 || reused) {
              String value = bytes > 0 ? Long.toString(bytes) : "-1";
              writeLimit(limit, value);
              // memsw counts memory plus swap: the same value means swap adds nothing.
              // Limitation: a kernel without swap accounting has no memsw file, and the box
              // may then use swap beyond its memory limit.
              writeIfPresent(memsw, value);
            }
          }
        }
        case CPU -> {
          long quota = limits.cpuQuotaMicros();
          long period = CgroupLimits.CPU_PERIOD_MICROS;
          if (v2) {
            if (quota > 0 || reused) {
              writeLimit(dir.resolve("cpu.max"), (quota > 0 ? quota : "max") + " " + period);
            }
          } else if (quota > 0) {
            writeLimit(dir.resolve("cpu.cfs_period_us"), Long.toString(period));
            writeLimit(dir.resolve("cpu.cfs_quota_us"), Long.toString(quota));
          } else if (reused) {
            writeLimit(dir.resolve("cpu.cfs_quota_us"), "-1");
          }
        }
        case PIDS -> {
          long max = limits.maxPids();
          if (max > 0 || reused) {
            writeLimit(dir.resolve("pids.max"), max > 0 ? Long.toString(max) : "max");
          }
        }
        case CPUACCT -> {
          // Accounting only: nothing to write.
        }
      }
    }
  }

  private static void writeLimit(Path file, String value) {
    try {
      CgroupFiles.write(file, value);
      logger.log(Level.FINE, "wrote {0} to {1}", new Object[] {value, file});
    } catch (IOException e) {
      throw JailerException.failedPrecondition(
          "cannot write " + value + " to " + file + ": " + CgroupFiles.reason(e), e);
    }
  }

  private static void writeIfPresent(Path file, String value) {
    if (Files.exists(file)) {
      writeLimit(file, value);
    } else {
      logger.log(Level.FINE, "{0} does not exist; not written", file);
    }
  }

  private void requireFor(boolean requested, Controller controller, String field) {
    if (requested && !placements.containsKey(controller)) {
      throw JailerException.failedPrecondition(
          "limits." + field + " was requested but " + missingProblem(controller));
    }
  }

  private static String missingProblem(Controller controller) {
    String name = controller.kernelName();
    return name + " controller: no cgroup v1 or v2 hierarchy offers it; enable it in the kernel"
        + " (build it in, and remove cgroup_disable=" + name + " from the kernel command line)"
        + " and mount its hierarchy";
  }

  private static void checkParent(String parent) {
    if (parent == null || !PARENT.matcher(parent).matches()) {
      throw JailerException.invalidArgument(
          "cgroup_parent",
          "must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit");
    }
  }

  private static void checkBoxId(String boxId) {
    if (boxId == null || !BOX_ID.matcher(boxId).matches()) {
      throw JailerException.invalidArgument(
          "box_id", "must be 1-64 characters of [A-Za-z0-9_-] starting with a letter or digit");
    }
  }

  /** The absolute mount point as seen below {@code root}. */
  private static Path relocate(Path root, String mountPoint) {
    String relative = mountPoint.startsWith("/") ? mountPoint.substring(1) : mountPoint;
    return relative.isEmpty() ? root : root.resolve(relative);
  }

  /** mountinfo writes space, tab, newline and backslash in paths as octal escapes ("\040"). */
  private static String unescape(String field) {
    StringBuilder result = new StringBuilder();
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && isOctal(field, i + 1)) {
        result.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        result.append(c);
      }
    }
    return result.toString();
  }

  private static boolean isOctal(String text, int start) {
    if (start + 3 > text.length()) {
      return false;
    }
    for (int i = start; i < start + 3; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '7') {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    StringBuilder result = new StringBuilder("CgroupHost{");
    for (Controller controller : Controller.values()) {
      Placement placement = placements.get(controller);
      result
          .append(controller.kernelName())
          .append('=')
          .append(placement == null ? "missing"
              : (placement.unified() ? "v2 " : "v1 ") + placement.mountPoint())
          .append(controller == Controller.PIDS ? "}" : ", ");
    }
    return result.toString();
  }
}
