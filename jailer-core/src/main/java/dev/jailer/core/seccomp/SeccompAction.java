package dev.jailer.core.seccomp;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

/**
 * What a seccomp filter does with a system call: the kinds an OCI profile may name, minus the
 * ones Jailer refuses ({@code SCMP_ACT_NOTIFY} needs a supervisor on a listener fd that bwrap
 * cannot hand back, and {@code SCMP_ACT_TRACE} hands control to a ptrace tracer, which the shim
 * must never have).
 *
 * <p>{@link #errno()} is meaningful only for {@link Type#ERRNO} and is 0 for every other type.
 *
 * @param type what happens to the call
 * @param errno the error number the call fails with, for {@link Type#ERRNO} only (0 to 4095,
 *     the range the kernel treats as an error return)
 */
public record SeccompAction(Type type, int errno) {
  /** Largest value the kernel returns as {@code -errno} (MAX_ERRNO in linux/err.h). */
  public static final int MAX_ERRNO = 4095;

  /** EPERM from asm-generic/errno-base.h: what runc and Docker return when none is given. */
  public static final int EPERM = 1;

  /** The kinds of action, named as in the OCI runtime spec. */
  public enum Type {
    /** {@code SCMP_ACT_KILL_PROCESS}: the whole process dies of SIGSYS. */
    KILL_PROCESS("SCMP_ACT_KILL_PROCESS"),
    /**
     * {@code SCMP_ACT_KILL_THREAD} (OCI files may also spell it {@code SCMP_ACT_KILL}): only the
     * calling thread dies. A multi-threaded VMM keeps running with a thread missing, so Jailer's
     * own profiles never use it; it is accepted in files for compatibility.
     */
    KILL_THREAD("SCMP_ACT_KILL_THREAD"),
    /** {@code SCMP_ACT_TRAP}: the thread receives SIGSYS and may handle it. */
    TRAP("SCMP_ACT_TRAP"),
    /** {@code SCMP_ACT_ERRNO}: the call is not made and returns {@code -errno}. */
    ERRNO("SCMP_ACT_ERRNO"),
    /** {@code SCMP_ACT_ALLOW}: the call is made. */
    ALLOW("SCMP_ACT_ALLOW"),
    /** {@code SCMP_ACT_LOG}: the call is made and logged by the kernel audit subsystem. */
    LOG("SCMP_ACT_LOG");

    private final String ociName;

    Type(String ociName) {
      this.ociName = ociName;
    }

    /** The name the OCI runtime spec gives this action. */
    public String ociName() {
      return ociName;
    }
  }

  /**
   * Checks the pairing of type and errno.
   *
   * @throws IllegalArgumentException if {@code errno} is outside 0..4095 for ERRNO, or not 0 for
   *     another type
   */
  public SeccompAction {
    requireNonNull(type, "type");
    if (type == Type.ERRNO) {
      checkArgument(errno >= 0 && errno <= MAX_ERRNO, "errno must be 0..4095, got %s", errno);
    } else {
      checkArgument(errno == 0, "errno is only meaningful for SCMP_ACT_ERRNO, got %s", errno);
    }
  }

  /** Kills the whole process; the action Jailer's own profiles use for anything not allowed. */
  public static SeccompAction killProcess() {
    return new SeccompAction(Type.KILL_PROCESS, 0);
  }

  /** Kills only the calling thread; see {@link Type#KILL_THREAD} for why Jailer avoids it. */
  public static SeccompAction killThread() {
    return new SeccompAction(Type.KILL_THREAD, 0);
  }

  /** Sends SIGSYS to the calling thread. */
  public static SeccompAction trap() {
    return new SeccompAction(Type.TRAP, 0);
  }

  /**
   * Fails the call with {@code errno}.
   *
   * @throws IllegalArgumentException if {@code errno} is outside 0..4095
   */
  public static SeccompAction errno(int errno) {
    return new SeccompAction(Type.ERRNO, errno);
  }

  /** Lets the call through. */
  public static SeccompAction allow() {
    return new SeccompAction(Type.ALLOW, 0);
  }

  /** Lets the call through and has the kernel log it. */
  public static SeccompAction log() {
    return new SeccompAction(Type.LOG, 0);
  }

  @Override
  public String toString() {
    return type == Type.ERRNO ? type.ociName() + "(" + errno + ")" : type.ociName();
  }
}
