package dev.jailer.core.sandbox.linux;

import static dev.jailer.core.spawn.SpawnSupport.SIGKILL;
import static dev.jailer.core.spawn.SpawnSupport.SIGTERM;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.JailerException;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.Limits;
import dev.jailer.core.box.PidRecord;
import dev.jailer.core.box.RecordFiles;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.box.Usage;
import dev.jailer.core.cgroup.BoxCgroup;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.cgroup.CgroupLimits;
import dev.jailer.core.cgroup.CgroupUsage;
import dev.jailer.core.nativeaccess.NativeAccess;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.seccomp.SeccompProfile;
import dev.jailer.core.seccomp.SeccompProfiles;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.spawn.ExitWatcher;
import dev.jailer.core.spawn.SpawnSupport;
import dev.jailer.core.spawn.Spawner;
import dev.jailer.core.stage.ShimLibraries;
import dev.jailer.core.stage.StageRecord;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Spawns shims under bubblewrap, seccomp, a cgroup, rlimits and an unprivileged user
 * (DESIGN.md section 4), and follows them until they end.
 *
 * <p>Fails closed: when bubblewrap, the box user, the cgroup or the seccomp filter cannot be
 * set up, Spawn fails with the reason and nothing runs.
 */
public final class LinuxSpawner implements Spawner {
  private static final Logger logger = Logger.getLogger(LinuxSpawner.class.getName());

  private static final List<String> SYSTEM_DIRS =
      List.of("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin");
  private static final List<Path> RESOLVER_FILES =
      List.of(Path.of("/etc/resolv.conf"), Path.of("/etc/hosts"), Path.of("/etc/nsswitch.conf"),
          Path.of("/etc/host.conf"), Path.of("/etc/gai.conf"));
  private static final List<Path> DEVICES = List.of(Path.of("/dev/kvm"), Path.of("/dev/net/tun"));
  private static final List<Path> BWRAP_LOCATIONS =
      List.of(Path.of("/usr/bin/bwrap"), Path.of("/usr/local/bin/bwrap"), Path.of("/bin/bwrap"));
  private static final Pattern CHILD_PID = Pattern.compile("\"child-pid\"\\s*:\\s*(\\d+)");
  private static final Pattern EXIT_CODE = Pattern.compile("\"exit-code\"\\s*:\\s*(-?\\d+)");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PREFLIGHT_FRESHNESS = Duration.ofSeconds(30);
  private static final long MAX_SECCOMP_FILE_BYTES = 1 << 20;

  private final JailerConfig config;
  private final CgroupHost cgroups;
  private final BoxUserResolver users;
  private final ShimLibraries libraries;
  private final boolean rootServer;
  private final Map<String, CompletableFuture<ExitRecord>> running = new ConcurrentHashMap<>();
  private final Map<String, Integer> sentSignals = new ConcurrentHashMap<>();
  private final ExitWatcher exitWatcher = NativeAccess.exitWatcher();
  // Compiling the built-in profile took about 2.3 ms of every Spawn (scripts/bench, JMH
  // seccompCompile) and always yields the same program, so it is compiled once per server.
  // Built-in profiles are singletons: identity is the right key, and hashing one is free.
  private final Map<SeccompProfile, byte[]> builtinFilters =
      Collections.synchronizedMap(new IdentityHashMap<>());
  private volatile Optional<String> lastProblem = Optional.of("not checked yet");
  private volatile long lastCheckNanos;

  /**
   * @throws JailerException FAILED_PRECONDITION when the configured box user is root or does
   *     not exist
   */
  public LinuxSpawner(JailerConfig config, CgroupHost cgroups) {
    this.config = config;
    this.cgroups = cgroups;
    this.users = new BoxUserResolver(config.boxUsers());
    this.libraries = new ShimLibraries(config.platform());
    this.rootServer = BoxUserResolver.serverUid() == 0;
    checkNow();
  }

  @Override
  public String kind() {
    return "bubblewrap";
  }

  @Override
  public Optional<String> problem() {
    return currentProblem();
  }

  // A good result is trusted for PREFLIGHT_FRESHNESS; a bad one is checked again every time,
  // so a fixed host is noticed at once. Concurrent callers share one check.
  private synchronized Optional<String> currentProblem() {
    if (lastProblem.isEmpty()
        && System.nanoTime() - lastCheckNanos <= PREFLIGHT_FRESHNESS.toNanos()) {
      return lastProblem;
    }
    return checkNow();
  }

  /** Checks, by trying, that every part of the sandbox can be built. */
  private synchronized Optional<String> checkNow() {
    List<String> problems = new ArrayList<>();
    Optional<Path> bwrap = findBwrap();
    if (bwrap.isEmpty()) {
      problems.add("bubblewrap is not installed (looked for " + BWRAP_LOCATIONS
          + "); install it: apt-get install bubblewrap");
    }
    for (String tool : List.of("/usr/bin/setpriv", "/usr/bin/prlimit")) {
      if (!Files.isExecutable(Path.of(tool))) {
        problems.add(tool + " is missing; install util-linux");
      }
    }
    NativeAccess.seccompUnavailabilityCause().ifPresent(problems::add);
    problems.addAll(cgroups.preflight(config.cgroupParent()));
    if (bwrap.isPresent() && problems.isEmpty()) {
      tryBwrap(bwrap.get()).ifPresent(problems::add);
    }
    lastProblem = problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
    lastCheckNanos = System.nanoTime();
    return lastProblem;
  }

  // Runs a real, minimal sandbox as the box user: what cannot be built here cannot be built for
  // a box either, and kernels differ too much for sysctls to tell.
  private Optional<String> tryBwrap(Path bwrap) {
    BoxUserResolver.Identity identity = users.identityOf("_preflight");
    users.forget("_preflight");
    List<String> argv = new ArrayList<>();
    if (rootServer) {
      argv.addAll(List.of("/usr/bin/setpriv", "--reuid=" + identity.uid(),
          "--regid=" + identity.gid(), "--clear-groups", "--no-new-privs", "--"));
    }
    argv.addAll(List.of(bwrap.toString(), "--unshare-user", "--unshare-pid", "--unshare-ipc",
        "--unshare-uts", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc", "--dev",
        "/dev", "--", "/bin/true"));
    try {
      ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      builder.environment().clear();
      builder.environment().put("PATH", BwrapCommand.SANDBOX_PATH);
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return Optional.of("bubblewrap did not finish a trial sandbox within 20 s");
      }
      if (process.exitValue() != 0) {
        return Optional.of("bubblewrap cannot build a sandbox as uid " + identity.uid() + ": "
            + output.trim() + "; allow unprivileged user namespaces (for example sysctl "
            + "kernel.unprivileged_userns_clone=1 or kernel.apparmor_restrict_unprivileged_userns"
            + "=0, depending on the kernel)");
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("cannot run bubblewrap: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("interrupted while checking bubblewrap");
    }
  }

  private static Optional<Path> findBwrap() {
    return BWRAP_LOCATIONS.stream().filter(Files::isExecutable).findFirst();
  }

  @Override
  public Started start(BoxView box, SpawnOptions options, BooleanSupplier cancelled) {
    String boxId = box.boxId();
    BoxLayout layout = box.layout();
    StageRecord stage = box.stage().orElseThrow();
    Optional<String> problem = currentProblem();
    if (problem.isPresent()) {
      throw JailerException.failedPrecondition(
          "this host cannot sandbox box " + boxId + ": " + problem.get());
    }
    Limits limits = options.effectiveLimits(config.defaultLimits());
    CgroupLimits cgroupLimits =
        new CgroupLimits(limits.memoryBytes(), limits.cpuMillis(), limits.maxPids());
    SeccompProfile profile = seccompProfile(options);
    byte[] filter =
        options.seccompFile() == null
            ? builtinFilters.computeIfAbsent(profile, NativeAccess.seccompCompiler()::compileBpf)
            : NativeAccess.seccompCompiler().compileBpf(profile);
    RecordFiles.writeBytes(layout.seccompFilter(), filter);

    BoxUserResolver.Identity identity =
        rootServer ? users.identityOf(boxId) : new BoxUserResolver.Identity(-1, -1);
    if (rootServer) {
      giveWritableDirs(layout, identity);
    }
    List<Path> devices = DEVICES.stream().filter(Files::exists).toList();
    ImmutableList<PathGrant> grants = grantsWithDevices(box.grants(), devices);
    Path shim = layout.bin().resolve(stage.shimName());
    ImmutableList<String> bwrapArgv =
        BwrapCommand.argv(
            new BwrapCommand.Input(
                findBwrap().orElseThrow(),
                systemDirs(),
                box.grants(),
                maskedKrunfw(Path.of(stage.shimDir())),
                devices,
                options.network(),
                RESOLVER_FILES,
                ShimEnvironment.of(layout, stage, options),
                shim,
                options.args()));

    BoxCgroup cgroup = cgroups.create(config.cgroupParent(), boxId, cgroupLimits);
    List<Integer> groups = rootServer ? deviceGroups(devices) : List.of();
    ImmutableList<String> argv =
        LaunchChain.argv(
            layout.seccompFilter(),
            layout.bwrapStatus(),
            layout.stdoutLog(),
            layout.stderrLog(),
            cgroup.procsFiles(),
            limits,
            rootServer ? OptionalInt.of(identity.uid()) : OptionalInt.empty(),
            identity.gid(),
            groups,
            true,
            bwrapArgv);
    SpawnRecord record =
        new SpawnRecord(
            kind(), argv, ImmutableList.copyOf(options.env().keySet()), limits,
            ImmutableList.of(), options.seccompName(), options.network(), identity.uid(),
            identity.gid(), config.cgroupParent(), System.currentTimeMillis());
    sentSignals.remove(boxId);
    // A box spawned again still has the status file of its previous run. The chain truncates
    // it, but only once it runs; until then awaitShim could read the old init's pid, wait for
    // the children of a process that is gone, and give up after START_TIMEOUT.
    try {
      Files.deleteIfExists(layout.bwrapStatus());
    } catch (IOException e) {
      removeCgroup(cgroup);
      throw JailerException.internal(
          "cannot remove the old status file " + layout.bwrapStatus() + ": " + e.getMessage(), e);
    }

    long stderrOffset = SpawnSupport.sizeOf(layout.stderrLog());
    Process process;
    try {
      process = SpawnSupport.startChain(argv, BwrapCommand.SANDBOX_PATH);
    } catch (IOException e) {
      removeCgroup(cgroup);
      throw JailerException.internal("cannot start the launch chain: " + e.getMessage(), e);
    }

    Launched launched;
    try {
      launched = awaitShim(process, layout, shim, cancelled, cgroup, stderrOffset);
    } catch (RuntimeException e) {
      process.destroyForcibly();
      cgroup.killAll();
      SpawnSupport.waitQuietly(process);
      removeCgroup(cgroup);
      throw e;
    }
    // The records are written once the shim runs, so a failed Spawn leaves the last ones intact.
    RecordFiles.write(layout.spawnRecord(), record);
    long pid = launched.shimPid();
    long startTime = pid > 0 ? ProcFs.startTime(pid).orElse(0) : 0;
    PidRecord pidRecord =
        new PidRecord(pid, startTime, launched.initPid(), System.currentTimeMillis());
    RecordFiles.write(layout.pidRecord(), pidRecord);
    return new Started(record, pidRecord, grants, follow(boxId, layout, cgroup, pidRecord));
  }

  /** The shim's pid (0 when it ended before it was seen) and bubblewrap's init's pid. */
  private record Launched(long shimPid, long initPid) {}

  // One watcher thread follows every box (see ExitWatcher); when the shim has ended, bubblewrap
  // writes its exit line, and the box's end is recorded from it and from the cgroup.
  private CompletableFuture<ExitRecord> follow(
      String boxId, BoxLayout layout, BoxCgroup cgroup, PidRecord pid) {
    CompletableFuture<Void> ended =
        pid.pid() > 0
            ? exitWatcher.onExit(pid.pid(), pid.startTimeTicks())
            : CompletableFuture.completedFuture(null);
    CompletableFuture<ExitRecord> exit =
        ended.thenApplyAsync(ignored -> {
          awaitStatusExit(layout, cgroup);
          return finish(boxId, layout, cgroup);
        });
    running.put(boxId, exit);
    exit.whenComplete((e, t) -> running.remove(boxId, exit));
    return exit;
  }

  /**
   * Waits until the shim itself runs: bubblewrap reports its init's pid on the status
   * descriptor, and the shim is the init's child once that child has executed the staged shim.
   *
   * @return the shim's pid (0 when the shim ended before it could be seen) and the init's
   */
  private Launched awaitShim(
      Process process, BoxLayout layout, Path shim, BooleanSupplier cancelled, BoxCgroup cgroup,
      long stderrOffset) {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    String shimPath = shim.toString();
    long initPid = 0;
    while (true) {
      if (cancelled.getAsBoolean()) {
        throw JailerException.cancelled(
            "the caller gave up while box " + layout.boxId() + " was starting; it was stopped");
      }
      if (initPid == 0) {
        initPid = firstMatch(CHILD_PID, readStatus(layout)).orElse(0);
      }
      if (initPid > 0) {
        for (long child : ProcFs.children(initPid)) {
          // Until it executes the shim, the init's child is still bubblewrap. A script shim
          // shows its interpreter instead of its own path, so anything but bubblewrap counts.
          Optional<String> exe = ProcFs.exe(child);
          if (exe.isPresent()
              && (exe.get().equals(shimPath) || !exe.get().endsWith("/bwrap"))) {
            return new Launched(child, initPid);
          }
        }
      }
      // The chain's shell ends as soon as it has forked the sandbox (setsid --fork), so the
      // sandbox is gone only when the shell failed or the box's cgroup is empty.
      if (!process.isAlive() && (process.exitValue() != 0 || cgroup.pids().isEmpty())) {
        String status = readStatus(layout);
        String errors = SpawnSupport.readFrom(layout.stderrLog(), stderrOffset).trim();
        boolean ran = CHILD_PID.matcher(status).find() && EXIT_CODE.matcher(status).find()
            && !errors.startsWith("bwrap:") && !errors.startsWith("jailer:");
        if (ran) {
          // The shim ran and already ended; its exit is recorded by the caller.
          return new Launched(0, initPid);
        }
        throw JailerException.failedPrecondition(
            "the sandbox of box " + layout.boxId() + " failed to start (launcher exit status "
                + process.exitValue() + ", sandbox gone): "
                + (errors.isEmpty() ? "no message" : SpawnSupport.tail(errors, 2000)));
      }
      if (System.nanoTime() > deadline) {
        throw JailerException.internal(
            "box " + layout.boxId() + ": the shim did not start within " + START_TIMEOUT
                .toSeconds() + " s", null);
      }
      SpawnSupport.sleep(2);
    }
  }

  private ExitRecord finish(String boxId, BoxLayout layout, BoxCgroup cgroup) {
    OptionalLong reported = firstMatchLast(EXIT_CODE, readStatus(layout));
    boolean oomKilled = cgroup.oomKilled();
    CgroupUsage usage = cgroup.usage();
    cgroup.killAll();
    removeCgroup(cgroup);
    Integer sent = sentSignals.remove(boxId);
    // bubblewrap writes no exit line when it was killed with the rest of the box (SIGKILL to the
    // whole cgroup): then the jailer's own signal, or the memory limit, is what ended the shim.
    int exitCode =
        reported.isPresent()
            ? (int) reported.getAsLong()
            : sent != null ? 128 + sent : oomKilled ? 128 + SIGKILL : -1;
    return SpawnSupport.ended(exitCode, sent, oomKilled, toUsage(usage));
  }

  @Override
  public ExitRecord stop(BoxView box, Duration grace) {
    String boxId = box.boxId();
    CompletableFuture<ExitRecord> exit = running.get(boxId);
    PidRecord pid = box.pid().orElseThrow();
    if (exit == null) {
      // Not followed by this server (it ended meanwhile): record what is known.
      return endedWhileAway(box).orElseGet(() -> killUnfollowed(box));
    }
    return SpawnSupport.terminate(
        boxId,
        exit,
        grace,
        () -> {
          if (ProcFs.isSameProcess(pid.pid(), pid.startTimeTicks())) {
            sentSignals.put(boxId, SIGTERM);
            ProcessHandle.of(pid.pid()).ifPresent(ProcessHandle::destroy);
          }
        },
        () -> {
          sentSignals.put(boxId, SIGKILL);
          cgroups.open(config.cgroupParent(), boxId).ifPresent(BoxCgroup::killAll);
        });
  }

  private ExitRecord killUnfollowed(BoxView box) {
    cgroups.open(config.cgroupParent(), box.boxId()).ifPresent(BoxCgroup::killAll);
    return SpawnSupport.ended(128 + SIGKILL, SIGKILL, false, Usage.NONE);
  }

  @Override
  public Usage usage(BoxView box) {
    return cgroups.open(config.cgroupParent(), box.boxId())
        .map(c -> toUsage(c.usage()))
        .orElse(Usage.NONE);
  }

  @Override
  public CompletableFuture<ExitRecord> reattach(BoxView box) {
    String boxId = box.boxId();
    box.spawn().ifPresent(s -> users.remember(boxId, s.uid()));
    PidRecord pid = box.pid().orElseThrow();
    Optional<BoxCgroup> cgroup = cgroups.open(config.cgroupParent(), boxId);
    if (cgroup.isPresent()) {
      return follow(boxId, box.layout(), cgroup.get(), pid);
    }
    // A box whose cgroup is gone (removed by hand) is followed through bubblewrap alone.
    CompletableFuture<ExitRecord> exit =
        exitWatcher.onExit(pid.pid(), pid.startTimeTicks()).thenApplyAsync(ignored -> {
          awaitStatusExit(box.layout(), null);
          return endedRecord(box.layout());
        });
    running.put(boxId, exit);
    exit.whenComplete((e, t) -> running.remove(boxId, exit));
    return exit;
  }

  @Override
  public Optional<ExitRecord> endedWhileAway(BoxView box) {
    PidRecord pid = box.pid().orElseThrow();
    if (pid.pid() > 0 && ProcFs.isSameProcess(pid.pid(), pid.startTimeTicks())) {
      return Optional.empty();
    }
    Optional<BoxCgroup> cgroup = cgroups.open(config.cgroupParent(), box.boxId());
    ExitRecord record =
        cgroup.map(c -> finish(box.boxId(), box.layout(), c))
            .orElseGet(() -> endedRecord(box.layout()));
    return Optional.of(record);
  }

  private ExitRecord endedRecord(BoxLayout layout) {
    OptionalLong code = firstMatchLast(EXIT_CODE, readStatus(layout));
    return new ExitRecord(
        code.isPresent() ? (int) code.getAsLong() : -1, 0, false, Usage.NONE,
        System.currentTimeMillis(),
        code.isPresent()
            ? "ended while the jailer was not running, with status " + code.getAsLong()
            : "ended while the jailer was not running; its exit status is unknown");
  }

  // bubblewrap writes its exit line just after the shim ends; give it a moment, unless the
  // whole box is already gone (bubblewrap killed with it writes nothing).
  private static void awaitStatusExit(BoxLayout layout, BoxCgroup cgroup) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (int i = 0; !EXIT_CODE.matcher(readStatus(layout)).find(); i++) {
      if ((cgroup != null && cgroup.pids().isEmpty()) || System.nanoTime() > deadline) {
        return;
      }
      // Usually the line is there within a few milliseconds; poll fast at first.
      SpawnSupport.sleep(i < 50 ? 2 : 20);
    }
  }

  @Override
  public void release(BoxView box) {
    cgroups.open(config.cgroupParent(), box.boxId()).ifPresent(c -> {
      c.killAll();
      removeCgroup(c);
    });
    users.forget(box.boxId());
  }

  @Override
  public void removeOrphans(Set<String> boxIds) {
    List<String> removed = cgroups.removeOrphans(config.cgroupParent(), boxIds);
    if (!removed.isEmpty()) {
      logger.info(() -> "removed cgroups that belong to no box: " + removed);
    }
  }

  @Override
  public void close() {
    // Boxes outlive the server: nothing is stopped here.
  }

  private SeccompProfile seccompProfile(SpawnOptions options) {
    if (options.seccompFile() == null) {
      return SeccompProfiles.builtin(
          options.seccompBuiltin() == null ? "" : options.seccompBuiltin());
    }
    Path lexical = Path.of(options.seccompFile()).normalize();
    Path real;
    try {
      real = lexical.toRealPath();
    } catch (IOException e) {
      real = null;
    }
    Path resolved = real;
    boolean allowed = resolved != null && config.allowedSeccompDirs().stream()
        .map(LinuxSpawner::realOrSelf).anyMatch(resolved::startsWith);
    if (!allowed) {
      throw JailerException.permissionDenied(
          "seccomp.file", lexical + " is not a file inside an allowed seccomp profile directory "
              + (config.allowedSeccompDirs().isEmpty()
                  ? "(none are allowed: start the server with --allow-seccomp-dir DIR)"
                  : config.allowedSeccompDirs()));
    }
    try {
      if (!Files.isRegularFile(resolved) || Files.size(resolved) > MAX_SECCOMP_FILE_BYTES) {
        throw JailerException.invalidArgument(
            "seccomp.file", resolved + " is not a regular file of at most 1 MiB");
      }
      return SeccompProfiles.parseOci(Files.readString(resolved), resolved.toString());
    } catch (IOException e) {
      throw JailerException.invalidArgument(
          "seccomp.file", "cannot read " + resolved + ": " + e.getMessage());
    }
  }

  private static Path realOrSelf(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException e) {
      return path.toAbsolutePath().normalize();
    }
  }

  /**
   * The libkrunfw files of the original directory, resolved: binding {@code /dev/null} over the
   * real file masks every name that leads to it.
   */
  private List<Path> maskedKrunfw(Path shimDir) {
    Set<Path> masked = new LinkedHashSet<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(shimDir)) {
      for (Path entry : entries) {
        if (!libraries.isKrunfw(entry.getFileName().toString())) {
          continue;
        }
        try {
          Path real = entry.toRealPath();
          if (real.startsWith(shimDir) && Files.isRegularFile(real)) {
            masked.add(real);
          }
        } catch (NoSuchFileException e) {
          // A dangling link loads nothing; there is nothing to mask.
        }
      }
    } catch (IOException e) {
      throw JailerException.internal("cannot list " + shimDir + ": " + e.getMessage(), e);
    }
    return masked.stream().sorted().toList();
  }

  private static List<BwrapCommand.SystemDir> systemDirs() {
    List<BwrapCommand.SystemDir> dirs = new ArrayList<>();
    for (String dir : SYSTEM_DIRS) {
      Path path = Path.of(dir);
      if (Files.isSymbolicLink(path)) {
        try {
          dirs.add(new BwrapCommand.SystemDir(dir, Files.readSymbolicLink(path).toString()));
        } catch (IOException e) {
          logger.fine(() -> "cannot read the link " + dir + ": " + e);
        }
      } else if (Files.isDirectory(path)) {
        dirs.add(new BwrapCommand.SystemDir(dir, null));
      }
    }
    return dirs;
  }

  private static ImmutableList<PathGrant> grantsWithDevices(
      List<PathGrant> grants, List<Path> devices) {
    ImmutableList.Builder<PathGrant> all = ImmutableList.<PathGrant>builder().addAll(grants);
    for (Path device : devices) {
      all.add(new PathGrant(device, Access.READ_WRITE, false,
          device.toString().equals("/dev/kvm") ? "KVM device of the VMM"
              : "TUN device for the guest's network"));
    }
    return all.build();
  }

  // The shim reaches /dev/kvm (and /dev/net/tun) through the device's group, never through
  // ownership: a device only root may open stays closed to it.
  private static List<Integer> deviceGroups(List<Path> devices) {
    Set<Integer> groups = new LinkedHashSet<>();
    for (Path device : devices) {
      try {
        int mode = (Integer) Files.getAttribute(device, "unix:mode");
        int gid = (Integer) Files.getAttribute(device, "unix:gid");
        if ((mode & 0060) == 0060 && gid != 0) {
          groups.add(gid);
        }
      } catch (IOException e) {
        logger.fine(() -> "cannot stat " + device + ": " + e);
      }
    }
    return List.copyOf(groups);
  }

  private static void giveWritableDirs(BoxLayout layout, BoxUserResolver.Identity identity) {
    for (Path dir : layout.writableDirs()) {
      try {
        Files.setAttribute(dir, "unix:uid", identity.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:gid", identity.gid(), LinkOption.NOFOLLOW_LINKS);
      } catch (IOException e) {
        throw JailerException.internal(
            "cannot give " + dir + " to uid " + identity.uid() + ": " + e.getMessage(), e);
      }
    }
  }

  private static void removeCgroup(BoxCgroup cgroup) {
    try {
      cgroup.remove();
    } catch (JailerException e) {
      logger.log(Level.WARNING, "cannot remove cgroup " + cgroup + ": " + e.getMessage()
          + "; it is removed at the next start of the server", e);
    }
  }

  private static Usage toUsage(CgroupUsage usage) {
    return new Usage(usage.memoryCurrentBytes(), usage.memoryPeakBytes(), usage.pidsCurrent(),
        usage.cpuUsageMicros());
  }

  private static String readStatus(BoxLayout layout) {
    try {
      return new String(RecordFiles.readNoFollow(layout.bwrapStatus()), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static OptionalLong firstMatch(Pattern pattern, String text) {
    Matcher m = pattern.matcher(text);
    return m.find() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  private static OptionalLong firstMatchLast(Pattern pattern, String text) {
    Matcher m = pattern.matcher(text);
    OptionalLong last = OptionalLong.empty();
    while (m.find()) {
      last = OptionalLong.of(Long.parseLong(m.group(1)));
    }
    return last;
  }

}
