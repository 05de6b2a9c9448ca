package dev.jailer.core.cgroup;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.JailerException;
import dev.jailer.core.testing.Prerequisites;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Box cgroups on this host's real v1 hierarchies, with real processes joining them. Every test
 * works under a parent cgroup of its own, which is emptied and removed afterwards.
 */
class CgroupV1LiveTest {
  private static final String JOIN =
      "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 99; shift;"
          + " n=$((n - 1)); done; ";

  @TempDir Path temp;
  private CgroupHost host;
  private String parent;
  private final List<Process> processes = new ArrayList<>();
  private final Map<Process, Path> stderrFiles = new HashMap<>();

  @BeforeEach
  void requireV1() {
    host = CgroupHost.detect();
    boolean v1 = true;
    for (String controller : List.of("memory", "cpu", "cpuacct", "pids")) {
      CgroupHost.Placement placement = host.placements().get(controller);
      v1 &= placement != null && !placement.unified();
    }
    Prerequisites.requireHostFeature(v1, "v1 memory, cpu, cpuacct and pids hierarchies");
    Prerequisites.require("root".equals(System.getProperty("user.name")), "running as root");
    parent = "jailer-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  }

  @AfterEach
  void removeTestParent() throws Exception {
    for (Process process : processes) {
      process.destroyForcibly();
      process.waitFor(5, SECONDS);
    }
    if (parent == null) {
      return;
    }
    Set<Path> mounts = new LinkedHashSet<>();
    host.placements().values().forEach(p -> mounts.add(p.mountPoint()));
    for (Path mount : mounts) {
      Path parentDir = mount.resolve(parent);
      if (!Files.isDirectory(parentDir)) {
        continue;
      }
      try (DirectoryStream<Path> children = Files.newDirectoryStream(parentDir)) {
        for (Path child : children) {
          if (Files.isDirectory(child)) {
            killAndRmdir(child);
          }
        }
      }
      killAndRmdir(parentDir);
    }
  }

  @Test
  void create_limits_writesExactValuesToV1Files() throws IOException {
    BoxCgroup cgroup = host.create(parent, "box1", new CgroupLimits(64L << 20, 250, 20));

    Path memory = mount("memory").resolve(parent).resolve("box1");
    Path cpu = mount("cpu").resolve(parent).resolve("box1");
    Path pids = mount("pids").resolve(parent).resolve("box1");
    assertEquals(memory, cgroup.directories().get("memory"));
    assertEquals(cpu, cgroup.directories().get("cpu"));
    assertEquals(pids, cgroup.directories().get("pids"));
    assertEquals(
        mount("cpuacct").resolve(parent).resolve("box1"), cgroup.directories().get("cpuacct"));
    assertEquals("67108864", read(memory.resolve("memory.limit_in_bytes")));
    if (Files.exists(memory.resolve("memory.memsw.limit_in_bytes"))) {
      assertEquals("67108864", read(memory.resolve("memory.memsw.limit_in_bytes")));
    }
    assertEquals("100000", read(cpu.resolve("cpu.cfs_period_us")));
    assertEquals("25000", read(cpu.resolve("cpu.cfs_quota_us")));
    assertEquals("20", read(pids.resolve("pids.max")));
    Set<Path> distinctDirs = new HashSet<>(cgroup.directories().values());
    assertEquals(distinctDirs.size(), cgroup.procsFiles().size());
    assertEquals(Set.of(), cgroup.unifiedControllers());
  }

  @Test
  void joinedProcess_isInEveryHierarchyAndCounted_thenKilledAndRemoved() throws Exception {
    BoxCgroup cgroup = host.create(parent, "box1", new CgroupLimits(64L << 20, 0, 20));

    Process process =
        join(cgroup, "i=0; while [ $i -lt 30000 ]; do i=$((i + 1)); done; exec sleep 30");

    waitForJoined(cgroup, process);
    String membership = Files.readString(Path.of("/proc/" + process.pid() + "/cgroup"));
    for (String controller : List.of("memory", "cpu", "cpuacct", "pids")) {
      assertTrue(
          membership.contains(":" + controller + ":/" + parent + "/box1\n"), membership);
    }
    waitFor(() -> cgroup.usage().cpuUsageMicros() > 0, "CPU time counted");
    CgroupUsage usage = cgroup.usage();
    assertEquals(1, usage.pidsCurrent());
    assertTrue(usage.memoryCurrentBytes() > 0, usage.toString());
    assertTrue(usage.memoryPeakBytes() >= usage.memoryCurrentBytes(), usage.toString());
    assertFalse(cgroup.oomKilled());

    assertTrue(cgroup.killAll());
    assertTrue(process.waitFor(5, SECONDS));
    assertEquals(137, process.exitValue());
    assertEquals(Set.of(), cgroup.pids());

    cgroup.remove();
    for (Path dir : cgroup.directories().values()) {
      assertFalse(Files.exists(dir), dir.toString());
    }
    assertFalse(cgroup.exists());
    cgroup.remove();
    assertTrue(host.open(parent, "box1").isEmpty());
    assertEquals(CgroupUsage.ZERO, cgroup.usage());
  }

  @Test
  void memoryHog_32MiBLimit_isOomKilled() throws Exception {
    Path hog = compile(
        "hog",
        """
        #include <stdlib.h>
        #include <string.h>
        int main(void) {
          for (int i = 0; i < 1024; i++) {
            char *p = malloc(1 << 20);
            if (p == NULL) return 2;
            memset(p, 1, 1 << 20);
          }
          return 0;
        }
        """);
    BoxCgroup cgroup = host.create(parent, "hog", new CgroupLimits(32L << 20, 0, 0));

    Process process = join(cgroup, "exec \"$1\"", hog.toString());

    assertTrue(process.waitFor(30, SECONDS));
    assertEquals(137, process.exitValue(), stderr(process));
    assertTrue(cgroup.oomKilled());
    long peak = cgroup.usage().memoryPeakBytes();
    assertTrue(peak > (16L << 20) && peak <= (32L << 20), "peak " + peak);
  }

  @Test
  void pidsLimit_five_makesForksFail() throws Exception {
    BoxCgroup cgroup = host.create(parent, "forks", new CgroupLimits(0, 0, 5));

    Process process =
        join(cgroup, "i=0; while [ $i -lt 10 ]; do sleep 30 & i=$((i + 1)); done; wait");

    assertTrue(process.waitFor(20, SECONDS));
    assertTrue(process.exitValue() != 0, stderr(process));
    Path pidsDir = Path.of(cgroup.directories().get("pids").toString());
    assertTrue(
        CgroupFiles.readKeyed(pidsDir.resolve("pids.events"), "max") > 0,
        read(pidsDir.resolve("pids.events")));
    assertTrue(cgroup.usage().pidsCurrent() <= 5);
    assertFalse(cgroup.pids().isEmpty());
    assertTrue(cgroup.killAll());
    assertEquals(Set.of(), cgroup.pids());
  }

  @Test
  void cpuLimit_tenPercent_throttlesABusyLoop() throws Exception {
    BoxCgroup cgroup = host.create(parent, "busy", new CgroupLimits(0, 100, 0));
    Process process = join(cgroup, "while :; do :; done");
    waitForJoined(cgroup, process);
    long before = cgroup.usage().cpuUsageMicros();

    Thread.sleep(1500);

    long used = cgroup.usage().cpuUsageMicros() - before;
    Path cpu = cgroup.directories().get("cpu");
    assertTrue(CgroupFiles.readKeyed(cpu.resolve("cpu.stat"), "nr_throttled") > 0);
    // 10 % of 1.5 s is 150 ms; an unthrottled loop would use about 1500 ms.
    assertTrue(used > 0 && used < 600_000, "used " + used + " µs");
    assertTrue(cgroup.killAll());
  }

  @Test
  void create_unwritableLimit_failsClosedAndLeavesNothing() {
    // pids.max accepts at most PID_MAX_LIMIT (4194304); a larger value is EINVAL.
    JailerException e =
        assertThrows(
            JailerException.class,
            () -> host.create(parent, "toomany", new CgroupLimits(64L << 20, 100, 10_000_000)));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    Path pidsMax = mount("pids").resolve(parent).resolve("toomany").resolve("pids.max");
    assertEquals("cannot write 10000000 to " + pidsMax + ": Invalid argument", e.getMessage());
    for (CgroupHost.Placement placement : host.placements().values()) {
      Path dir = placement.mountPoint().resolve(parent).resolve("toomany");
      assertFalse(Files.exists(dir), dir.toString());
    }
  }

  @Test
  void create_staleDirectory_startsFromDefaults() throws IOException {
    host.create(parent, "stale", new CgroupLimits(8L << 20, 0, 3));
    Path memory = mount("memory").resolve(parent).resolve("stale");
    assertEquals("8388608", read(memory.resolve("memory.limit_in_bytes")));

    BoxCgroup cgroup = host.create(parent, "stale", new CgroupLimits(0, 0, 4));

    String unlimited = read(mount("memory").resolve("memory.limit_in_bytes"));
    assertEquals(unlimited, read(memory.resolve("memory.limit_in_bytes")));
    assertEquals("4", read(cgroup.directories().get("pids").resolve("pids.max")));
  }

  @Test
  void create_whileAProcessRuns_isRefused() throws Exception {
    BoxCgroup cgroup = host.create(parent, "busy", CgroupLimits.none());
    Process process = join(cgroup, "exec sleep 30");
    waitForJoined(cgroup, process);

    JailerException e =
        assertThrows(
            JailerException.class, () -> host.create(parent, "busy", CgroupLimits.none()));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("already holds processes"), e.getMessage());
    assertTrue(cgroup.pids().contains(process.pid()));
  }

  @Test
  void open_afterCreate_findsTheSameDirectories() {
    BoxCgroup created = host.create(parent, "again", new CgroupLimits(0, 0, 8));

    BoxCgroup opened = host.open(parent, "again").orElseThrow();

    assertEquals(created.directories(), opened.directories());
    assertEquals(created.procsFiles(), opened.procsFiles());
    assertTrue(host.open(parent, "other").isEmpty());
  }

  @Test
  void removeOrphans_unknownEmptyCgroup_isRemovedButOneWithProcessesIsKept() throws Exception {
    host.create(parent, "known", CgroupLimits.none());
    BoxCgroup idle = host.create(parent, "idle", CgroupLimits.none());
    BoxCgroup running = host.create(parent, "running", CgroupLimits.none());
    Process process = join(running, "exec sleep 30");
    waitForJoined(running, process);

    assertEquals(List.of("idle", "running"), host.orphans(parent, Set.of("known")));
    assertEquals(List.of("idle"), host.removeOrphans(parent, Set.of("known")));

    assertFalse(idle.exists());
    assertTrue(running.exists());
    assertTrue(host.open(parent, "known").isPresent());
  }

  @Test
  void preflight_writableParent_reportsNothingAndLeavesNoProbe() throws IOException {
    List<String> problems = host.preflight(parent);

    assertEquals(List.of(), problems);
    for (CgroupHost.Placement placement : host.placements().values()) {
      Path parentDir = placement.mountPoint().resolve(parent);
      assertTrue(Files.isDirectory(parentDir));
      try (DirectoryStream<Path> children = Files.newDirectoryStream(parentDir)) {
        for (Path child : children) {
          assertFalse(Files.isDirectory(child), "left behind: " + child);
        }
      }
    }
  }

  private Path mount(String controller) {
    return host.placements().get(controller).mountPoint();
  }

  /** Starts a shell that writes its own pid into every procs file, then runs {@code script}. */
  private Process join(BoxCgroup cgroup, String script, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", JOIN + script, "sh"));
    command.add(Integer.toString(cgroup.procsFiles().size()));
    cgroup.procsFiles().forEach(procs -> command.add(procs.toString()));
    command.addAll(List.of(args));
    // stderr goes to a file: a pipe would stay open while background children of the shell
    // live, and reading it would wait for them.
    Path errors = Files.createTempFile(temp, "stderr", ".txt");
    Process process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
    stderrFiles.put(process, errors);
    processes.add(process);
    return process;
  }

  private Path compile(String name, String source) throws Exception {
    Prerequisites.require(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc");
    Path c = temp.resolve(name + ".c");
    Path binary = temp.resolve(name);
    Files.writeString(c, source);
    Process gcc =
        new ProcessBuilder("/usr/bin/gcc", "-O0", "-o", binary.toString(), c.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(gcc.waitFor(60, SECONDS) && gcc.exitValue() == 0, output);
    return binary;
  }

  private String stderr(Process process) throws IOException {
    return Files.readString(stderrFiles.get(process));
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file).trim();
  }

  /** Waits until the process has written its pid into every procs file of the box. */
  private static void waitForJoined(BoxCgroup cgroup, Process process)
      throws InterruptedException {
    waitFor(
        () ->
            cgroup.procsFiles().stream()
                .allMatch(procs -> CgroupFiles.readPids(procs).contains(process.pid())),
        "process " + process.pid() + " in every hierarchy");
  }

  private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  /** Kills what is left in a test cgroup and removes it, independently of the code under test. */
  private static void killAndRmdir(Path dir) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(10);
    while (Files.isDirectory(dir)) {
      for (long pid : CgroupFiles.readPids(dir.resolve("cgroup.procs"))) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      try {
        Files.delete(dir);
      } catch (FileSystemException e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("cannot clean up " + dir + ": " + e.getReason(), e);
        }
        Thread.sleep(20);
      } catch (IOException e) {
        throw new AssertionError("cannot clean up " + dir, e);
      }
    }
  }
}
