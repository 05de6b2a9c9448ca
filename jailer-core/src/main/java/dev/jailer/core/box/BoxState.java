package dev.jailer.core.box;

/** Where a box is in its life (DESIGN.md section 6). */
public enum BoxState {
  /** Staged and not running: never spawned, or re-staged after it exited. */
  STAGED,
  /** The shim runs. */
  RUNNING,
  /** The shim ran and ended. */
  EXITED,
}
