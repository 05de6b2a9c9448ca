package dev.jailer.core.cgroup;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import dev.jailer.core.JailerException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The cgroup directories of one box: one per hierarchy that holds one of its controllers
 * (co-mounted v1 controllers, and every controller on v2, share one directory).
 *
 * <p>Obtained from {@link CgroupHost#create} or {@link CgroupHost#open}. Reading counters never
 * throws, so the final counters of a box whose cgroup vanished read as 0. Instances are
 * immutable and safe to share between threads; the kernel serialises the file operations.
 */
public final class BoxCgroup {
  private static final Logger logger = Logger.getLogger(BoxCgroup.class.getName());

  /** How long {@link #killAll} keeps killing before it gives up. */
  static final Duration KILL_TIMEOUT = Duration.ofSeconds(5);

  /**
   * How long {@link #remove} retries a busy directory: a killed process stays in its cgroup
   * until its parent has reaped it, which takes a moment after SIGKILL.
   */
  static final Duration REMOVE_TIMEOUT = Duration.ofSeconds(3);

  private static final long POLL_MILLIS = 20;

  private final String name;
  private final ImmutableMap<Controller, Path> directories;
  private final ImmutableSet<Controller> unified;

  BoxCgroup(String name, Map<Controller, Path> directories, Set<Controller> unified) {
    this.name = requireNonNull(name, "name");
    this.directories = ImmutableMap.copyOf(new EnumMap<>(directories));
    this.unified = ImmutableSet.copyOf(unified);
  }

  /** The box id this cgroup is named after. */
  public String name() {
    return name;
  }

  /**
   * The directory of each controller the box has, keyed by the kernel's controller name
   * ({@code memory}, {@code cpu}, {@code cpuacct}, {@code pids}); co-mounted controllers map to
   * the same directory. A controller the host lacks is absent.
   */
  public Map<String, Path> directories() {
    ImmutableMap.Builder<String, Path> result = ImmutableMap.builder();
    directories.forEach((controller, dir) -> result.put(controller.kernelName(), dir));
    return result.buildOrThrow();
  }

  /** The controllers of this box that live on the v2 (unified) hierarchy, by kernel name. */
  public Set<String> unifiedControllers() {
    ImmutableSet.Builder<String> result = ImmutableSet.builder();
    unified.forEach(controller -> result.add(controller.kernelName()));
    return result.build();
  }

  /**
   * The distinct {@code cgroup.procs} files a launcher writes its own pid into, one per
   * hierarchy, so that the process is under every limit before it execs anything else.
   */
  public List<Path> procsFiles() {
    return distinctDirectories().stream().map(dir -> dir.resolve("cgroup.procs")).toList();
  }

  /** Current counters; a counter that cannot be read (missing file, cgroup gone) is 0. */
  public CgroupUsage usage() {
    long memoryCurrent = 0;
    long memoryPeak = 0;
    Path memory = directories.get(Controller.MEMORY);
    if (memory != null) {
      boolean v2 = unified.contains(Controller.MEMORY);
      memoryCurrent =
          CgroupFiles.readLong(memory.resolve(v2 ? "memory.current" : "memory.usage_in_bytes"));
      // memory.peak only exists from Linux 5.19 on; older v2 kernels report 0.
      memoryPeak =
          CgroupFiles.readLong(memory.resolve(v2 ? "memory.peak" : "memory.max_usage_in_bytes"));
    }

    Path pids = directories.get(Controller.PIDS);
    long pidsCurrent = pids == null ? 0 : CgroupFiles.readLong(pids.resolve("pids.current"));

    long cpuMicros = 0;
    Path cpuacct = directories.get(Controller.CPUACCT);
    if (cpuacct != null) {
      cpuMicros =
          unified.contains(Controller.CPUACCT)
              ? CgroupFiles.readKeyed(cpuacct.resolve("cpu.stat"), "usage_usec")
              : CgroupFiles.readLong(cpuacct.resolve("cpuacct.usage")) / 1000;
    }

    CgroupUsage usage = new CgroupUsage(memoryCurrent, memoryPeak, pidsCurrent, cpuMicros);
    logger.log(Level.FINE, "cgroup {0}: usage {1}", new Object[] {name, usage});
    return usage;
  }

  /**
   * True when the kernel's OOM killer killed a process of this box for exceeding its memory
   * limit (the {@code oom_kill} counter of v1 {@code memory.oom_control} or v2
   * {@code memory.events}); false when it did not, or when the counter cannot be read.
   */
  public boolean oomKilled() {
    Path memory = directories.get(Controller.MEMORY);
    if (memory == null) {
      return false;
    }
    String file = unified.contains(Controller.MEMORY) ? "memory.events" : "memory.oom_control";
    long kills = CgroupFiles.readKeyed(memory.resolve(file), "oom_kill");
    logger.log(Level.FINE, "cgroup {0}: oom_kill {1}", new Object[] {name, kills});
    return kills > 0;
  }

  /** Every process in the box (the union over all hierarchies); empty when the cgroup is gone. */
  public Set<Long> pids() {
    Set<Long> result = new LinkedHashSet<>();
    for (Path procs : procsFiles()) {
      result.addAll(CgroupFiles.readPids(procs));
    }
    return result;
  }

  /** True while at least one of the box's directories exists. */
  public boolean exists() {
    return distinctDirectories().stream().anyMatch(Files::isDirectory);
  }

  /**
   * Sends SIGKILL to every process of the box until none is left or {@link #KILL_TIMEOUT} has
   * passed. On v2 with {@code cgroup.kill} (Linux 5.14+) the kernel kills the whole cgroup at
   * once; otherwise the processes are killed one by one, repeatedly, so a process forked while
   * the loop ran is caught on the next round.
   *
   * @return true when no process is left in the box
   */
  public boolean killAll() {
    for (Controller controller : unified) {
      Path kill = directories.get(controller).resolve("cgroup.kill");
      if (Files.exists(kill)) {
        try {
          CgroupFiles.write(kill, "1");
          logger.log(Level.FINE, "cgroup {0}: wrote 1 to {1}", new Object[] {name, kill});
        } catch (IOException e) {
          logger.log(
              Level.FINE, "cgroup {0}: cannot write {1}: {2}",
              new Object[] {name, kill, CgroupFiles.reason(e)});
        }
        break;
      }
    }

    long self = ProcessHandle.current().pid();
    long deadline = System.nanoTime() + KILL_TIMEOUT.toNanos();
    while (true) {
      Set<Long> pids = pids();
      pids.remove(self);
      if (pids.isEmpty()) {
        logger.log(Level.FINE, "cgroup {0}: no process left", name);
        return true;
      }
      if (System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted()) {
        logger.log(
            Level.FINE, "cgroup {0}: processes left after killing: {1}", new Object[] {name, pids});
        return false;
      }
      // Limitation: a pid read from cgroup.procs may exit and be reused by an unrelated process
      // before ProcessHandle.of looks it up; a v1 host has no cgroup.kill to close that window.
      for (long pid : pids) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      logger.log(Level.FINE, "cgroup {0}: sent SIGKILL to {1}", new Object[] {name, pids});
      sleepQuietly(POLL_MILLIS);
    }
  }

  /**
   * Removes every directory of the box with {@code rmdir} (never a recursive delete: cgroupfs
   * removes a cgroup and its control files with rmdir alone). A busy directory is retried for
   * {@link #REMOVE_TIMEOUT}, since processes being reaped keep it busy for a moment. Removing a
   * cgroup that is already gone does nothing.
   *
   * @throws JailerException FAILED_PRECONDITION naming the directory and the errno text when a
   *     directory cannot be removed (processes still run in it, or permission is missing)
   */
  public void remove() {
    List<Path> dirs = new ArrayList<>(distinctDirectories());
    JailerException failure = null;
    for (Path dir : dirs) {
      try {
        removeDirectory(dir, REMOVE_TIMEOUT);
        logger.log(Level.FINE, "cgroup {0}: removed {1}", new Object[] {name, dir});
      } catch (IOException e) {
        String detail =
            "cannot remove cgroup " + dir + ": " + CgroupFiles.reason(e)
                + stillRunning(dir.resolve("cgroup.procs"));
        if (failure == null) {
          failure = JailerException.failedPrecondition(detail, e);
        } else {
          failure.addSuppressed(new IOException(detail, e));
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** rmdir with retries while busy; a directory that is already gone counts as removed. */
  static void removeDirectory(Path dir, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        Files.delete(dir);
        return;
      } catch (NoSuchFileException e) {
        return;
      } catch (FileSystemException e) {
        boolean busy = e.getReason() != null && e.getReason().contains("busy");
        boolean late =
            System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted();
        if (!busy || late) {
          throw e;
        }
        sleepQuietly(POLL_MILLIS);
      }
    }
  }

  private static String stillRunning(Path procs) {
    Set<Long> pids = CgroupFiles.readPids(procs);
    return pids.isEmpty() ? "" : "; processes still in it: " + pids;
  }

  private List<Path> distinctDirectories() {
    return ImmutableList.copyOf(new LinkedHashSet<>(directories.values()));
  }

  /** Sleeps; an interrupt ends the sleep and stays set, which ends the caller's retry loop. */
  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "BoxCgroup{" + name + ", " + directories() + "}";
  }
}
