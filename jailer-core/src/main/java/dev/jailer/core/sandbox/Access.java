package dev.jailer.core.sandbox;

/** How much of a granted path the shim may use inside the sandbox. */
public enum Access {
  /** Read, and list for a directory; never change. */
  READ_ONLY,
  /** Read, create, change and delete below the path. */
  READ_WRITE,
}
