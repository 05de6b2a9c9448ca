package dev.jailer.core.sandbox.macos;

import static dev.jailer.core.spawn.SpawnSupport.SIGKILL;
import static dev.jailer.core.spawn.SpawnSupport.SIGTERM;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.sun.security.auth.module.UnixSystem;
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
import dev.jailer.core.seccomp.SeccompProfiles;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.spawn.SpawnSupport;
import dev.jailer.core.spawn.Spawner;
import dev.jailer.core.stage.ShimLibraries;
import dev.jailer.core.stage.StageRecord;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * Spawns shims under macOS's Seatbelt sandbox (DESIGN.md section 5) and follows them until they
 * end.
 *
 * <p>The launch is an exec chain, as on Linux, because {@link ProcessBuilder} runs no code
 * between fork and exec and macOS has no {@code prlimit}:
 *
 * <ol>
 *   <li>{@code /bin/sh} runs a fixed script ({@link #SCRIPT}) that opens stdin on
 *       {@code /dev/null} and appends stdout and stderr to {@code jailer/stdout.log} and
 *       {@code jailer/stderr.log}, sets the rlimits with {@code ulimit}, soft and hard alike, and
 *       {@code exec}s the rest. Every value is a positional parameter; none is spliced into the
 *       script;
 *   <li>{@code /usr/bin/env -i NAME=value ...} replaces the whole environment with exactly the
 *       box's variables: {@code PATH}, {@code HOME}, {@code TMPDIR} and the caller's. The shell
 *       itself never sees the caller's variables (bash reads {@code SHELLOPTS} and friends from
 *       its environment), and the variables a shell adds on its own ({@code PWD},
 *       {@code SHLVL}, {@code _}) never reach the shim. No {@code DYLD_*} variable is passed:
 *       SIP strips them from {@code sandbox-exec} anyway, and libkrunfw is found through the
 *       shim's {@code @rpath} in {@code bin/}. {@code LD_LIBRARY_PATH} means nothing to dyld and
 *       is not set either;
 *   <li>{@code /usr/bin/sandbox-exec -p PROFILE -D NAME=path ... SHIM ARGS} by absolute path
 *       ({@link SeatbeltCommand}), which applies the profile to itself and executes the shim.
 * </ol>
 *
 * <p>Every step {@code exec}s the next, so the shim keeps the pid of the first process. Its
 * identity across a restart of the server is that pid plus the process's start time as {@link
 * ProcessHandle.Info#startInstant()} reports it, in epoch milliseconds, kept in {@link
 * PidRecord#startTimeTicks()}: macOS has no {@code /proc}, and a recycled pid always has a later
 * start time.
 *
 * <p>The profile text is written to {@code jailer/sandbox.sb} before the shim starts, so Inspect
 * can show the exact policy; the paths it refers to travel as {@code -D} parameters and are in
 * the spawn record's command line.
 *
 * <p>macOS has no cgroups: the memory, CPU and process-count limits are reported as unenforced
 * ({@link MacLimits}); open files, file size, CPU time, address space and core size are rlimits.
 *
 * <p>Constructing this class runs nothing; {@link #problem()} checks the host by trying.
 */
public final class SeatbeltSpawner implements Spawner {
  private static final Logger logger = Logger.getLogger(SeatbeltSpawner.class.getName());

  /** {@code PATH} inside the box: the macOS system directories. */
  public static final String SANDBOX_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

  /** The program that replaces the environment; by absolute path, like every step. */
  static final String ENV = "/usr/bin/env";

  /** Exit status of the script when it could not open the log files. */
  public static final int EXIT_OPEN_FAILED = 120;

  /** Exit status of the script when a {@code ulimit} was refused. */
  public static final int EXIT_LIMIT_FAILED = 122;

  /**
   * The launch script. Positional parameters: the stdout log, the stderr log, the number of
   * limits, then per limit its {@code ulimit} option, its value for a shell that counts sizes in
   * 512-byte blocks and its value for one that counts them in 1024-byte blocks, then the command
   * to execute.
   *
   * <p>Units of {@code ulimit}: {@code -n} is a count, {@code -t} seconds and {@code -v} KiB in
   * every shell macOS ships. {@code -f} and {@code -c} differ: bash 3.2, macOS's {@code /bin/sh}
   * (which runs bash in POSIX mode), counts them in 1024-byte blocks; bash 4.0 and later count
   * them in 512-byte blocks in POSIX mode (and in 1024-byte blocks outside it), and dash and
   * zsh, the other shells macOS lets {@code /bin/sh} be, count them in 512-byte blocks. The
   * script tells them apart by {@code BASH_VERSION}, which only bash sets, and by the
   * {@code posix} entry of bash's {@code SHELLOPTS}.
   *
   * <p>Soft, then hard limit, each set explicitly, so the result does not depend on what a shell
   * does when neither {@code -S} nor {@code -H} is given; the soft one goes first because a hard
   * limit cannot be lowered below the soft limit still in force.
   */
  static final String SCRIPT =
      String.join(
          "\n",
          "exec </dev/null >>\"$1\" 2>>\"$2\" || exit 120",
          "shift 2",
          "kib=0",
          "if [ -n \"${BASH_VERSION-}\" ]; then",
          "  case \"$BASH_VERSION\" in [0-3].*) kib=1 ;; esac",
          "  case \":${SHELLOPTS-}:\" in *:posix:*) ;; *) kib=1 ;; esac",
          "fi",
          "n=$1",
          "shift",
          "while [ \"$n\" -gt 0 ]; do",
          "  if [ \"$kib\" = 1 ]; then v=$3; else v=$2; fi",
          "  if ! ulimit -S \"$1\" \"$v\" || ! ulimit -H \"$1\" \"$v\"; then",
          "    echo \"jailer: cannot set ulimit $1 $v\" >&2",
          "    exit 122",
          "  fi",
          "  shift 3",
          "  n=$((n - 1))",
          "done",
          "exec \"$@\"",
          "");

  /** What macOS has no counterpart of, reported as the box's seccomp profile. */
  static final String NO_SECCOMP = "none (macOS has no seccomp; the Seatbelt profile applies)";

  private static final String TRIAL_PROFILE = "(version 1)(allow default)";
  private static final Path SANDBOX_EXEC = Path.of(SeatbeltCommand.SANDBOX_EXEC);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration TRIAL_FRESHNESS = Duration.ofSeconds(30);
  private static final List<String> CHAIN_ERROR_PREFIXES =
      List.of("sandbox-exec:", "jailer:", "jailer-launch:", "env:");

  private final JailerConfig config;
  private final ShimLibraries libraries;
  private final Map<String, CompletableFuture<ExitRecord>> running = new ConcurrentHashMap<>();
  private final Map<String, Integer> sentSignals = new ConcurrentHashMap<>();
  private Optional<String> lastProblem = Optional.of("not checked yet");
  private long lastCheckNanos;
  private boolean checked;

  /** A spawner for {@code config}; runs nothing (the host is checked by {@link #problem()}). */
  public SeatbeltSpawner(JailerConfig config) {
    this.config = config;
    this.libraries = new ShimLibraries(dev.jailer.core.Platform.MACOS);
  }

  @Override
  public String kind() {
    return "seatbelt";
  }

  /**
   * Runs {@code /usr/bin/sandbox-exec} with a profile that allows everything and {@code
   * /usr/bin/true}; a result younger than 30 s is reused while it found no problem.
   *
   * @return why shims cannot be sandboxed here, with the fix; empty when the trial passed
   */
  @Override
  public synchronized Optional<String> problem() {
    if (!checked
        || lastProblem.isPresent()
        || System.nanoTime() - lastCheckNanos > TRIAL_FRESHNESS.toNanos()) {
      lastProblem = checkNow();
      lastCheckNanos = System.nanoTime();
      checked = true;
    }
    return lastProblem;
  }

  private static Optional<String> checkNow() {
    if (!Files.isExecutable(SANDBOX_EXEC)) {
      return Optional.of(SANDBOX_EXEC + " is missing: the Seatbelt sandbox exists only on macOS;"
          + " run the server on macOS, or on Linux where bubblewrap is used");
    }
    if (serverUid() == 0) {
      return Optional.of(rootRefusal());
    }
    try {
      ProcessBuilder builder =
          new ProcessBuilder(SANDBOX_EXEC.toString(), "-p", TRIAL_PROFILE, "/usr/bin/true")
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      builder.environment().clear();
      builder.environment().put("PATH", SANDBOX_PATH);
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return Optional.of("sandbox-exec did not finish a trial sandbox within 20 s");
      }
      if (process.exitValue() != 0) {
        return Optional.of("sandbox-exec cannot apply a profile on this host (exit status "
            + process.exitValue() + "): " + output.trim());
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("cannot run " + SANDBOX_EXEC + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("interrupted while checking sandbox-exec");
    }
  }

  private static String rootRefusal() {
    // sandbox-exec cannot change the user, and macOS offers no setpriv-like step: a shim spawned
    // by a root server would run as root, and an escape from the profile would be a root escape.
    return "the server runs as root, so shims would too (macOS has no way to drop to a box user"
        + " under sandbox-exec); run the server as an unprivileged user";
  }

  @Override
  public Started start(BoxView box, SpawnOptions options, BooleanSupplier cancelled) {
    String boxId = box.boxId();
    BoxLayout layout = box.layout();
    StageRecord stage = box.stage().orElseThrow();
    if (options.seccompFile() != null) {
      throw JailerException.failedPrecondition(
          "box " + boxId + ": seccomp.file asks for a seccomp filter, which exists only on Linux;"
              + " leave seccomp unset on macOS");
    }
    String builtin = options.seccompBuiltin();
    if (builtin != null && !builtin.isEmpty() && !builtin.equals(SeccompProfiles.DEFAULT)) {
      // Refuses an unknown name with INVALID_ARGUMENT, as on Linux.
      SeccompProfiles.builtin(builtin);
    }
    int uid = serverUid();
    Limits limits = options.effectiveLimits(config.defaultLimits());
    Path shim = layout.bin().resolve(stage.shimName());
    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            box.grants(), maskedKrunfw(Path.of(stage.shimDir())), options.network(), shim);
    SeatbeltCommand command =
        SeatbeltCommand.of(profile, options.args(), environment(layout, options.env()));
    ImmutableList<String> argv =
        launchArgv(layout.stdoutLog(), layout.stderrLog(), limits, command);

    RecordFiles.writeBytes(profileFile(layout), profile.text().getBytes(StandardCharsets.UTF_8));
    SpawnRecord record =
        new SpawnRecord(
            kind(), argv, ImmutableList.copyOf(options.env().keySet()), limits,
            unenforcedLimits(limits), NO_SECCOMP, options.network(), uid, serverGid(), "",
            System.currentTimeMillis());
    RecordFiles.write(layout.spawnRecord(), record);
    if (!Files.isExecutable(SANDBOX_EXEC)) {
      throw JailerException.failedPrecondition(
          "cannot spawn box " + boxId + ": " + SANDBOX_EXEC + " is missing; the Seatbelt sandbox"
              + " exists only on macOS");
    }
    if (uid == 0) {
      throw JailerException.failedPrecondition("cannot spawn box " + boxId + ": "
          + rootRefusal());
    }
    sentSignals.remove(boxId);

    long stderrOffset = SpawnSupport.sizeOf(layout.stderrLog());
    Process process;
    try {
      ProcessBuilder builder =
          new ProcessBuilder(argv)
              .directory(new File("/"))
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              // A pipe, not DISCARD: the script's first line moves stderr to the log, so
              // whatever arrives here is a failure of the chain before that.
              .redirectError(ProcessBuilder.Redirect.PIPE);
      builder.environment().clear();
      builder.environment().put("PATH", SANDBOX_PATH);
      process = builder.start();
    } catch (IOException e) {
      throw JailerException.internal("cannot start the launch chain: " + e.getMessage(), e);
    }
    long pid = process.pid();
    long startMark = startMark(pid).orElse(0);
    try {
      awaitShim(process, layout, profile.shimPath(), shim, cancelled, stderrOffset);
    } catch (RuntimeException e) {
      process.destroyForcibly();
      SpawnSupport.waitQuietly(process);
      throw e;
    } finally {
      closeQuietly(process.getErrorStream());
    }
    PidRecord pidRecord = new PidRecord(pid, startMark, pid, System.currentTimeMillis());
    RecordFiles.write(layout.pidRecord(), pidRecord);

    CompletableFuture<ExitRecord> exit =
        process.onExit().thenApply(p -> finish(boxId, p.exitValue()));
    running.put(boxId, exit);
    exit.whenComplete((e, t) -> running.remove(boxId, exit));
    return new Started(record, pidRecord, box.grants(), exit);
  }

  /**
   * The file Inspect reads the profile from: {@code jailer/sandbox.sb}, out of every sandbox's
   * reach.
   */
  public static Path profileFile(BoxLayout layout) {
    return layout.jailer().resolve("sandbox.sb");
  }

  /**
   * The complete environment of the shim: {@code PATH}, {@code HOME} and {@code TMPDIR} (the
   * box's {@code tmp/}, in the {@code /private} form the sandbox matches), then the caller's
   * variables sorted by name. The caller's names are validated by {@link SpawnOptions#validate()}
   * and can be none of the three.
   */
  public static ImmutableMap<String, String> environment(
      BoxLayout layout, Map<String, String> callerEnv) {
    Map<String, String> env = new LinkedHashMap<>();
    String tmp = SeatbeltPaths.canonicalize(layout.tmp());
    env.put("PATH", SANDBOX_PATH);
    env.put("HOME", tmp);
    env.put("TMPDIR", tmp);
    env.putAll(new TreeMap<>(callerEnv));
    return ImmutableMap.copyOf(env);
  }

  /**
   * The argv of the whole launch chain: the script with the log files and the limits, then
   * {@code /usr/bin/env -i} with {@code command}'s environment, then {@code command}'s argv.
   * Pure: same arguments, same list.
   *
   * @param stdoutLog the shim's stdout, appended
   * @param stderrLog the shim's stderr (and the chain's own errors), appended
   * @param limits the effective limits; only the rlimits among them are used
   * @param command the sandbox-exec command and the shim's environment
   */
  public static ImmutableList<String> launchArgv(
      Path stdoutLog, Path stderrLog, Limits limits, SeatbeltCommand command) {
    ImmutableList.Builder<String> argv = ImmutableList.builder();
    argv.add("/bin/sh", "-c", SCRIPT, "jailer-launch");
    argv.add(stdoutLog.toString(), stderrLog.toString());
    argv.addAll(ulimitArguments(limits));
    argv.add(ENV, "-i");
    command.environment().forEach((name, value) -> argv.add(name + "=" + value));
    argv.addAll(command.argv());
    return argv.build();
  }

  /**
   * The count of limits, then per limit its option, its value in 512-byte-block units and in
   * 1024-byte-block units (equal for the options without blocks). Sizes are rounded down to
   * whole units, so a limit is never looser than asked. The core size is always set: 0 there
   * means no core dumps, whose memory image of a VMM would hold guest memory.
   */
  static ImmutableList<String> ulimitArguments(Limits limits) {
    ImmutableList.Builder<String> limitArgs = ImmutableList.builder();
    int count = 0;
    if (limits.maxOpenFiles() > 0) {
      addLimit(limitArgs, "-n", limits.maxOpenFiles(), limits.maxOpenFiles());
      count++;
    }
    if (limits.maxFileSizeBytes() > 0) {
      addLimit(limitArgs, "-f", limits.maxFileSizeBytes() / 512, limits.maxFileSizeBytes() / 1024);
      count++;
    }
    if (limits.maxCpuSeconds() > 0) {
      addLimit(limitArgs, "-t", limits.maxCpuSeconds(), limits.maxCpuSeconds());
      count++;
    }
    if (limits.maxAddressSpaceBytes() > 0) {
      long kib = limits.maxAddressSpaceBytes() / 1024;
      addLimit(limitArgs, "-v", kib, kib);
      count++;
    }
    addLimit(limitArgs, "-c", limits.maxCoreBytes() / 512, limits.maxCoreBytes() / 1024);
    count++;
    return ImmutableList.<String>builder()
        .add(Integer.toString(count))
        .addAll(limitArgs.build())
        .build();
  }

  private static void addLimit(
      ImmutableList.Builder<String> args, String option, long blocks512, long blocks1024) {
    args.add(option, Long.toString(blocks512), Long.toString(blocks1024));
  }

  /**
   * The limits of {@code effective} that nothing enforces on macOS, by their contract field
   * names. The effective limits carry the server's defaults, so memory, CPU and process count
   * are listed whenever they are non-zero, requested or not.
   */
  public static ImmutableList<String> unenforcedLimits(Limits effective) {
    return MacLimits.assess(effective).unenforced();
  }

  /**
   * The original directory's libkrunfw entries to mask: each name as it is (a version symlink
   * included) and the file it resolves to when that lies in the same directory. Seatbelt matches
   * the path a symlink resolves to, so the target must be denied; denying the link too also
   * hides it from {@code lstat}. Sorted, without duplicates.
   */
  private List<Path> maskedKrunfw(Path shimDir) {
    Set<Path> masked = new TreeSet<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(shimDir)) {
      for (Path entry : entries) {
        if (!libraries.isKrunfw(entry.getFileName().toString())) {
          continue;
        }
        masked.add(entry);
        try {
          Path real = entry.toRealPath();
          if (real.startsWith(shimDir.toRealPath())) {
            masked.add(real);
          }
        } catch (NoSuchFileException e) {
          // A dangling link loads nothing; the link itself is still denied.
        }
      }
    } catch (IOException e) {
      throw JailerException.internal("cannot list " + shimDir + ": " + e.getMessage(), e);
    }
    return List.copyOf(masked);
  }

  /**
   * Waits until the shim itself runs, that is until the launcher's pid shows the shim as its
   * executable (or, for a script shim, as its interpreter's first argument), and turns a failure
   * of the chain into FAILED_PRECONDITION. A shim that ran and already ended is not a failure:
   * its exit is recorded by the caller.
   */
  private static void awaitShim(
      Process process, BoxLayout layout, String canonicalShim, Path shim,
      BooleanSupplier cancelled, long stderrOffset) {
    Set<String> shimNames = new TreeSet<>(List.of(canonicalShim, shim.toString()));
    try {
      shimNames.add(shim.toRealPath().toString());
    } catch (IOException e) {
      // The staged shim is gone; sandbox-exec reports it below.
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    ProcessHandle handle = process.toHandle();
    while (true) {
      if (cancelled.getAsBoolean()) {
        throw JailerException.cancelled(
            "the caller gave up while box " + layout.boxId() + " was starting; it was stopped");
      }
      ProcessHandle.Info info = handle.info();
      boolean shimRuns =
          info.command().filter(shimNames::contains).isPresent()
              || info.arguments()
                  .filter(a -> a.length > 0 && shimNames.contains(a[0]))
                  .isPresent();
      if (shimRuns && process.isAlive()) {
        return;
      }
      if (!process.isAlive()) {
        String early = readAll(process.getErrorStream()).trim();
        String errors = SpawnSupport.readFrom(layout.stderrLog(), stderrOffset).trim();
        int status = process.exitValue();
        boolean chainFailed =
            !early.isEmpty()
                || status == EXIT_OPEN_FAILED
                || status == EXIT_LIMIT_FAILED
                || errors.lines().anyMatch(l -> CHAIN_ERROR_PREFIXES.stream()
                    .anyMatch(l::startsWith));
        if (!chainFailed) {
          return;
        }
        String message = !early.isEmpty() ? early : errors;
        throw JailerException.failedPrecondition(
            "the sandbox of box " + layout.boxId() + " failed to start (launcher exit status "
                + status + "): "
                + (message.isEmpty() ? "no message" : SpawnSupport.tail(message, 2000)));
      }
      if (System.nanoTime() > deadline) {
        throw JailerException.internal(
            "box " + layout.boxId() + ": the shim did not start within "
                + START_TIMEOUT.toSeconds() + " s", null);
      }
      SpawnSupport.sleep(2);
    }
  }

  private ExitRecord finish(String boxId, int exitCode) {
    // Java reports a death by signal N as 128 + N, as a shell does.
    return SpawnSupport.ended(exitCode, sentSignals.remove(boxId), false, Usage.NONE);
  }


  // Limitation: macOS has no cgroup to hold a box's processes. Stop signals the shim and, on
  // SIGKILL, the descendants it has at that moment; a process the shim started that already
  // left its tree (reparented to launchd after its parent died) is not found and keeps running.
  @Override
  public ExitRecord stop(BoxView box, Duration grace) {
    String boxId = box.boxId();
    CompletableFuture<ExitRecord> exit = running.get(boxId);
    PidRecord pid = box.pid().orElseThrow();
    if (exit == null) {
      return endedWhileAway(box).orElseGet(() -> killUnfollowed(pid));
    }
    return SpawnSupport.terminate(
        boxId,
        exit,
        grace,
        () -> sameProcess(pid.pid(), pid.startTimeTicks()).ifPresent(shim -> {
          sentSignals.put(boxId, SIGTERM);
          shim.destroy();
        }),
        () -> {
          sentSignals.put(boxId, SIGKILL);
          sameProcess(pid.pid(), pid.startTimeTicks()).ifPresent(SeatbeltSpawner::killTree);
        });
  }

  private static ExitRecord killUnfollowed(PidRecord pid) {
    sameProcess(pid.pid(), pid.startTimeTicks()).ifPresent(SeatbeltSpawner::killTree);
    return SpawnSupport.ended(128 + SIGKILL, SIGKILL, false, Usage.NONE);
  }

  private static void killTree(ProcessHandle shim) {
    List<ProcessHandle> descendants = shim.descendants().toList();
    shim.destroyForcibly();
    descendants.forEach(ProcessHandle::destroyForcibly);
  }

  @Override
  public Usage usage(BoxView box) {
    // Without a cgroup there are no box-wide counters.
    return Usage.NONE;
  }

  // Limitation: a shim found at start-up is not the server's child, so its exit status cannot
  // be collected (every step of the chain execs, and nothing is left to record it); its end is
  // recorded with exit code -1 and "exit status unknown".
  @Override
  public CompletableFuture<ExitRecord> reattach(BoxView box) {
    PidRecord pid = box.pid().orElseThrow();
    CompletableFuture<ExitRecord> exit =
        sameProcess(pid.pid(), pid.startTimeTicks())
            .map(ProcessHandle::onExit)
            .orElse(CompletableFuture.completedFuture(null))
            .thenApply(ignored -> unknownEnd());
    running.put(box.boxId(), exit);
    exit.whenComplete((e, t) -> running.remove(box.boxId(), exit));
    return exit;
  }

  @Override
  public Optional<ExitRecord> endedWhileAway(BoxView box) {
    PidRecord pid = box.pid().orElseThrow();
    return sameProcess(pid.pid(), pid.startTimeTicks()).isPresent()
        ? Optional.empty()
        : Optional.of(unknownEnd());
  }

  private static ExitRecord unknownEnd() {
    return new ExitRecord(-1, 0, false, Usage.NONE, System.currentTimeMillis(),
        "ended while not followed by this server; its exit status is unknown");
  }

  /**
   * The start time that, with the pid, names one process: {@link ProcessHandle.Info#startInstant()}
   * in epoch milliseconds. Empty when the process is gone or its start time cannot be read.
   */
  static OptionalLong startMark(long pid) {
    return ProcessHandle.of(pid)
        .flatMap(h -> h.info().startInstant())
        .map(Instant::toEpochMilli)
        .map(OptionalLong::of)
        .orElse(OptionalLong.empty());
  }

  /** The live process {@code pid} if it is the one that started at {@code startMark}. */
  static Optional<ProcessHandle> sameProcess(long pid, long startMark) {
    if (pid <= 0 || startMark == 0) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .filter(h -> h.info().startInstant().map(Instant::toEpochMilli).orElse(-1L)
            == startMark);
  }

  @Override
  public void release(BoxView box) {}

  @Override
  public void removeOrphans(Set<String> boxIds) {}

  @Override
  public void close() {
    // Boxes outlive the server: nothing is stopped here.
  }

  private static int serverUid() {
    return (int) new UnixSystem().getUid();
  }

  private static int serverGid() {
    return (int) new UnixSystem().getGid();
  }

  private static String readAll(InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      logger.fine(() -> "cannot close the launcher's error pipe: " + e);
    }
  }

}
