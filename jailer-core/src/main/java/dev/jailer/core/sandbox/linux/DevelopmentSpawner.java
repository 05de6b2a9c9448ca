package dev.jailer.core.sandbox.linux;

import static dev.jailer.core.spawn.SpawnSupport.SIGKILL;
import static dev.jailer.core.spawn.SpawnSupport.SIGTERM;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.JailerException;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.Limits;
import dev.jailer.core.box.PidRecord;
import dev.jailer.core.box.RecordFiles;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.box.Usage;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.spawn.SpawnSupport;
import dev.jailer.core.spawn.Spawner;
import dev.jailer.core.stage.StageRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * Development mode: runs the staged shim with no sandbox at all, as the server's own user,
 * with only its rlimits and a cleared environment. Inspect reports the sandbox as "none". It
 * exists for laptops that cannot build sandboxes; it is never chosen unless the operator passes
 * {@code --development}.
 */
public final class DevelopmentSpawner implements Spawner {
  private final JailerConfig config;
  private final Map<String, CompletableFuture<ExitRecord>> running = new ConcurrentHashMap<>();
  private final Map<String, Integer> sentSignals = new ConcurrentHashMap<>();

  public DevelopmentSpawner(JailerConfig config) {
    this.config = config;
  }

  @Override
  public String kind() {
    return "none";
  }

  @Override
  public Optional<String> problem() {
    return Optional.empty();
  }

  @Override
  public Started start(BoxView box, SpawnOptions options, BooleanSupplier cancelled) {
    StageRecord stage = box.stage().orElseThrow();
    Limits limits = options.effectiveLimits(config.defaultLimits());
    Path shim = box.layout().bin().resolve(stage.shimName());
    List<String> command = new ArrayList<>(List.of("/usr/bin/env", "-i"));
    Map<String, String> env = new TreeMap<>(ShimEnvironment.of(box.layout(), stage, options));
    env.forEach((k, v) -> command.add(k + "=" + v));
    command.add(shim.toString());
    command.addAll(options.args());
    // No seccomp filter and no cgroup: the chain opens /dev/null where the filter would be.
    ImmutableList<String> argv =
        LaunchChain.argv(Path.of("/dev/null"), box.layout().bwrapStatus(),
            box.layout().stdoutLog(), box.layout().stderrLog(), List.of(), limits,
            OptionalInt.empty(), -1, List.of(), false, command);
    SpawnRecord record =
        new SpawnRecord(kind(), argv, ImmutableList.copyOf(options.env().keySet()), limits,
            ImmutableList.of("memory_bytes", "cpu_millis", "max_pids"), "none (development mode)",
            true, -1, -1, "", System.currentTimeMillis());
    RecordFiles.write(box.layout().spawnRecord(), record);
    Process process;
    try {
      process = SpawnSupport.startChain(argv, BwrapCommand.SANDBOX_PATH);
    } catch (IOException e) {
      throw JailerException.internal("cannot start " + shim + ": " + e.getMessage(), e);
    }
    // Every step of the chain execs the next, so the shim keeps the pid of the first.
    long pid = process.pid();
    PidRecord pidRecord = new PidRecord(pid, ProcFs.startTime(pid).orElse(0), pid,
        System.currentTimeMillis());
    RecordFiles.write(box.layout().pidRecord(), pidRecord);
    String boxId = box.boxId();
    CompletableFuture<ExitRecord> exit = process.onExit().thenApply(p ->
        SpawnSupport.ended(p.exitValue(), sentSignals.remove(boxId), false, Usage.NONE));
    running.put(boxId, exit);
    exit.whenComplete((e, t) -> running.remove(boxId, exit));
    return new Started(record, pidRecord, box.grants(), exit);
  }

  @Override
  public ExitRecord stop(BoxView box, Duration grace) {
    CompletableFuture<ExitRecord> exit = running.get(box.boxId());
    PidRecord pid = box.pid().orElseThrow();
    if (exit == null) {
      return endedWhileAway(box).orElseGet(() -> {
        ProcessHandle.of(pid.pid()).ifPresent(ProcessHandle::destroyForcibly);
        return SpawnSupport.ended(128 + SIGKILL, SIGKILL, false, Usage.NONE);
      });
    }
    return SpawnSupport.terminate(
        box.boxId(),
        exit,
        grace,
        () -> {
          sentSignals.put(box.boxId(), SIGTERM);
          ProcessHandle.of(pid.pid()).ifPresent(ProcessHandle::destroy);
        },
        () -> {
          sentSignals.put(box.boxId(), SIGKILL);
          ProcessHandle.of(pid.pid()).ifPresent(ProcessHandle::destroyForcibly);
        });
  }

  @Override
  public Usage usage(BoxView box) {
    return Usage.NONE;
  }

  @Override
  public CompletableFuture<ExitRecord> reattach(BoxView box) {
    PidRecord pid = box.pid().orElseThrow();
    CompletableFuture<ExitRecord> exit = ProcessHandle.of(pid.pid())
        .map(ProcessHandle::onExit)
        .orElse(CompletableFuture.completedFuture(null))
        .thenApply(ignored -> unknownEnd());
    running.put(box.boxId(), exit);
    return exit;
  }

  @Override
  public Optional<ExitRecord> endedWhileAway(BoxView box) {
    PidRecord pid = box.pid().orElseThrow();
    return ProcFs.isSameProcess(pid.pid(), pid.startTimeTicks())
        ? Optional.empty() : Optional.of(unknownEnd());
  }

  private static ExitRecord unknownEnd() {
    // Without bubblewrap's status file an unfollowed process leaves no exit status behind.
    return new ExitRecord(-1, 0, false, Usage.NONE, System.currentTimeMillis(),
        "ended while not followed by this server; its exit status is unknown");
  }

  @Override
  public void release(BoxView box) {}

  @Override
  public void removeOrphans(Set<String> boxIds) {}

  @Override
  public void close() {}
}
