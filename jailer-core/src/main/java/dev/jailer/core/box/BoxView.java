package dev.jailer.core.box;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.stage.StageRecord;
import java.util.Optional;

/**
 * An immutable snapshot of one box, as Inspect, List and Watch report it.
 *
 * @param layout the box's directories
 * @param state where the box is in its life
 * @param stage the last Stage's record; empty only for a box whose directory is incomplete
 *     (for example a crash during Stage or Remove), which can still be removed
 * @param grants every host path the sandbox grants
 * @param spawn the last Spawn's record
 * @param pid the running shim (only while RUNNING)
 * @param exit how the shim ended (only when EXITED)
 * @param usage live cgroup counters while RUNNING, final counters when EXITED
 * @param statusMessage a sentence for operators on the box's state
 */
public record BoxView(
    BoxLayout layout,
    BoxState state,
    Optional<StageRecord> stage,
    ImmutableList<PathGrant> grants,
    Optional<SpawnRecord> spawn,
    Optional<PidRecord> pid,
    Optional<ExitRecord> exit,
    Usage usage,
    String statusMessage) {

  /** The box id. */
  public String boxId() {
    return layout.boxId();
  }

  /** A copy with other live usage counters. */
  public BoxView withUsage(Usage value) {
    return new BoxView(layout, state, stage, grants, spawn, pid, exit, value, statusMessage);
  }
}
