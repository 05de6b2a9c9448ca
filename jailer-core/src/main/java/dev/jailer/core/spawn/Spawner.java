package dev.jailer.core.spawn;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.PidRecord;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.box.Usage;
import dev.jailer.core.sandbox.PathGrant;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * Starts, watches and stops shims on one platform. {@link dev.jailer.core.Jailer} serialises
 * the calls for one box; implementations keep no per-box state that is not also on disk.
 */
public interface Spawner extends AutoCloseable {

  /**
   * A shim that runs.
   *
   * @param spawnRecord how it was spawned (already written to {@code jailer/spawn.json})
   * @param pidRecord the shim's pid (already written to {@code jailer/pid.json})
   * @param grants the effective path grants, the box's own plus per-spawn ones (devices, ...)
   * @param exit completes with the exit record when the shim's sandbox ends
   */
  record Started(
      SpawnRecord spawnRecord,
      PidRecord pidRecord,
      ImmutableList<PathGrant> grants,
      CompletableFuture<ExitRecord> exit) {}

  /** The sandbox this spawner builds: "bubblewrap", "seatbelt" or "none". */
  String kind();

  /**
   * Why this host cannot sandbox right now, with the fix for the operator; empty when it can.
   * Checked by trying, and checked again when asked.
   */
  Optional<String> problem();

  /**
   * Starts the shim of a STAGED or EXITED box and returns once the shim itself runs.
   *
   * @throws dev.jailer.core.JailerException FAILED_PRECONDITION when the sandbox cannot be
   *     built, CANCELLED when {@code cancelled} turned true (nothing is left running), INVALID_
   *     ARGUMENT or PERMISSION_DENIED for a bad seccomp profile, INTERNAL otherwise
   */
  Started start(BoxView box, SpawnOptions options, BooleanSupplier cancelled);

  /** Ends a running box (SIGTERM, then SIGKILL to all after {@code grace}) and returns its end. */
  ExitRecord stop(BoxView box, Duration grace);

  /** Live cgroup counters of a running box. */
  Usage usage(BoxView box);

  /** Watches a running box found at start-up; completes when it ends. */
  CompletableFuture<ExitRecord> reattach(BoxView box);

  /**
   * For a box recorded as RUNNING at start-up: its exit record when the shim is gone (it ended
   * while the server was down, or its pid now belongs to another process).
   */
  Optional<ExitRecord> endedWhileAway(BoxView box);

  /** Frees what a box holds outside its directory (its cgroup). */
  void release(BoxView box);

  /** Removes cgroups under the jailer's parent that belong to none of {@code boxIds}. */
  void removeOrphans(Set<String> boxIds);

  @Override
  void close();
}
