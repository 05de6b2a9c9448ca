package dev.jailer.core.nativeaccess;

import com.google.common.annotations.VisibleForTesting;
import com.google.common.collect.ImmutableList;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.jailer.core.JailerException;
import dev.jailer.core.Platform;
import dev.jailer.core.seccomp.SeccompAction;
import dev.jailer.core.seccomp.SeccompCompiler;
import dev.jailer.core.seccomp.SeccompProfile;
import dev.jailer.core.spawn.ExitWatcher;
import dev.jailer.core.spawn.PollingExitWatcher;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Entry point to the host's native capabilities. Each capability is probed once, on first use,
 * by actually using it, and kept with the reason it is missing, so that health checks and error
 * messages can tell the operator what to install.
 *
 * <p>This package is the only place that uses JNA; callers see plain Java interfaces such as
 * {@link SeccompCompiler}.
 */
public final class NativeAccess {
  private static final Logger logger = Logger.getLogger(NativeAccess.class.getName());

  private NativeAccess() {}

  /**
   * The watcher of box ends: pidfds in one epoll set where the kernel has them (Linux 5.3+),
   * otherwise one thread that looks at {@code /proc} every 100 ms.
   */
  public static ExitWatcher exitWatcher() {
    return ExitWatcherHolder.WATCHER;
  }

  private static final class ExitWatcherHolder {
    static final ExitWatcher WATCHER = create();

    private static ExitWatcher create() {
      try {
        return new PidfdExitWatcher(Native.load(LibC.LIBRARY, LibC.class));
      } catch (RuntimeException | LinkageError e) {
        logger.log(Level.FINE, "no pidfds here; box ends are noticed by polling /proc", e);
        return new PollingExitWatcher();
      }
    }
  }

  /** True when {@link #seccompCompiler()} will return a working compiler. */
  public static boolean isSeccompAvailable() {
    return SeccompProbe.UNAVAILABILITY_CAUSE == null;
  }

  /**
   * Why seccomp filters cannot be compiled on this host, with the fix, for example {@code
   * "libseccomp.so.2 could not be loaded: ...; install the libseccomp2 package"}; empty when
   * they can.
   */
  public static Optional<String> seccompUnavailabilityCause() {
    return Optional.ofNullable(SeccompProbe.UNAVAILABILITY_CAUSE);
  }

  /**
   * The seccomp compiler over the host's libseccomp.
   *
   * @throws JailerException FAILED_PRECONDITION, whose message ends with {@link
   *     #seccompUnavailabilityCause()} and whose cause is the probe's failure, when libseccomp is
   *     unusable here
   */
  public static SeccompCompiler seccompCompiler() {
    if (SeccompProbe.COMPILER == null) {
      throw JailerException.failedPrecondition(
          "seccomp filters cannot be compiled: " + SeccompProbe.UNAVAILABILITY_CAUSE,
          SeccompProbe.FAILURE);
    }
    return SeccompProbe.COMPILER;
  }

  // Holder idiom: the probe runs once, when first asked, and its outcome never changes.
  private static final class SeccompProbe {
    static final LibSeccompCompiler COMPILER;
    static final String UNAVAILABILITY_CAUSE;
    static final Throwable FAILURE;

    static {
      LibSeccompCompiler compiler = null;
      String cause = null;
      Throwable failure = null;
      try {
        compiler = probeSeccomp(LibSeccomp.LIBRARY);
      } catch (ProbeFailure e) {
        cause = e.getMessage();
        failure = e.getCause();
      } catch (LinkageError | RuntimeException e) {
        // JNA itself missing or unable to unpack its native part: report it like a missing
        // library instead of failing this class's initialisation for good.
        cause = "JNA could not be initialised: " + e + "; check that jna.jar is on the class"
            + " path and that its native library can be unpacked (jna.tmpdir)";
        failure = e;
      }
      COMPILER = compiler;
      UNAVAILABILITY_CAUSE = cause;
      FAILURE = failure;
      if (cause == null) {
        logger.log(Level.FINE, "seccomp available through " + LibSeccomp.LIBRARY);
      } else {
        // Logged once: every sandboxed spawn will be refused until the operator fixes it.
        logger.log(Level.WARNING, "seccomp filters unavailable, sandboxed spawns will fail: "
            + cause);
        logger.log(Level.FINE, "seccomp probe failure", failure);
      }
    }

    private SeccompProbe() {}
  }

  /**
   * Loads {@code library} as libseccomp and proves it can compile a filter.
   *
   * @throws ProbeFailure with the operator-facing reason when it cannot
   */
  @VisibleForTesting
  static LibSeccompCompiler probeSeccomp(String library) throws ProbeFailure {
    if (Platform.current() != Platform.LINUX) {
      throw new ProbeFailure("seccomp exists only on Linux, this is " + Platform.current(), null);
    }

    LibSeccomp seccomp;
    try {
      seccomp = Native.load(library, LibSeccomp.class);
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      throw new ProbeFailure(library + " could not be loaded: " + e.getMessage()
          + "; install the libseccomp2 package", e);
    }
    LibC libc;
    try {
      libc = Native.load(LibC.LIBRARY, LibC.class);
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      throw new ProbeFailure("the C library could not be loaded: " + e.getMessage(), e);
    }

    String version;
    int api;
    try {
      Pointer v = seccomp.seccomp_version();
      version = v.getInt(0) + "." + v.getInt(4) + "." + v.getInt(8);
      // seccomp_api_get appeared in 2.4.0; its absence means a library too old for
      // SCMP_ACT_KILL_PROCESS.
      api = seccomp.seccomp_api_get();
    } catch (UnsatisfiedLinkError e) {
      throw new ProbeFailure(library + " lacks seccomp_version or seccomp_api_get, so it is not"
          + " libseccomp 2.4 or later (" + e.getMessage() + "); install libseccomp2 2.4 or later",
          e);
    }
    // API level 3 means libseccomp and the kernel (4.14+) both support SCMP_ACT_KILL_PROCESS,
    // the action every Jailer profile relies on.
    if (api < 3) {
      throw new ProbeFailure("libseccomp " + version + " reports API level " + api
          + ", without SCMP_ACT_KILL_PROCESS; a Linux kernel of 4.14 or later and libseccomp"
          + " 2.4 or later are needed", null);
    }

    LibSeccompCompiler compiler = new LibSeccompCompiler(seccomp, libc);
    // Probe by doing: a minimal filter must compile and export.
    try {
      compiler.compileBpf(new SeccompProfile(
          "probe", SeccompAction.killProcess(), ImmutableList.of(), ImmutableList.of()));
    } catch (JailerException | UnsatisfiedLinkError e) {
      throw new ProbeFailure("libseccomp " + version + " cannot compile a filter: "
          + e.getMessage(), e);
    }
    return compiler;
  }

  /** Why a native capability is unusable; the message is meant for the operator. */
  static final class ProbeFailure extends Exception {
    private static final long serialVersionUID = 1L;

    ProbeFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
