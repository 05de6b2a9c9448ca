package dev.jailer.core.sandbox.linux;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.box.Limits;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/**
 * The exec chain that puts a shim under its limits before its first instruction (DESIGN.md
 * section 4, "Things that bite in Java").
 *
 * <p>{@link ProcessBuilder} passes only descriptors 0-2 and runs no code between fork and exec,
 * so the jailer starts {@code /bin/sh} with a fixed script. The script opens the descriptors,
 * writes its own pid into each cgroup's {@code cgroup.procs}, and {@code exec}s
 * {@code setsid --fork} (the rest runs detached from the server, in a session of its own), which
 * {@code exec}s {@code prlimit} (rlimits, set while still root so hard limits can be set too),
 * which
 * {@code exec}s {@code setpriv} (drop to the box's user and group, no new privileges), which
 * {@code exec}s bubblewrap. Every value travels as a positional parameter and none is ever
 * spliced into the script, so no path or argument can change what the shell does.
 *
 * <p>Every file the script opens lies in the box's {@code jailer/} directory, which no sandbox
 * can see: a shell redirection follows symlinks, and nothing the shim can write is trusted.
 */
public final class LaunchChain {
  /** The script; its positional parameters are described in {@link #argv}. */
  static final String SCRIPT =
      String.join(
          "\n",
          "exec </dev/null 3<\"$1\" 4>\"$2\" >>\"$3\" 2>>\"$4\" || exit 120",
          "shift 4",
          "n=$1",
          "shift",
          "while [ \"$n\" -gt 0 ]; do",
          "  echo \"$$\" >\"$1\" || { echo \"jailer: cannot join cgroup $1\" >&2; exit 121; }",
          "  shift",
          "  n=$((n - 1))",
          "done",
          "exec \"$@\"",
          "");

  /** Exit status of the script when it could not open its descriptors. */
  public static final int EXIT_OPEN_FAILED = 120;

  /** Exit status of the script when it could not join a cgroup. */
  public static final int EXIT_CGROUP_FAILED = 121;

  private LaunchChain() {}

  /**
   * The argv of the whole chain.
   *
   * @param seccompFilter the compiled filter, opened on fd 3
   * @param statusFile bubblewrap's JSON status output, opened on fd 4 (truncated)
   * @param stdoutLog the shim's stdout, appended
   * @param stderrLog the shim's stderr (and the chain's own errors), appended
   * @param procsFiles the {@code cgroup.procs} files to join
   * @param limits the rlimits to set (cgroup limits are already in the cgroup)
   * @param uid the box user; empty to keep the server's own user (only when it is not root)
   * @param gid the box group
   * @param supplementaryGroups extra groups of the shim (the group of /dev/kvm)
   * @param detach fork the rest of the chain off the server (see below); false keeps one
   *     process from the shell to the command, so the server's child is the command itself
   * @param command the command the chain ends in (bubblewrap's argv)
   */
  public static ImmutableList<String> argv(
      Path seccompFilter,
      Path statusFile,
      Path stdoutLog,
      Path stderrLog,
      List<Path> procsFiles,
      Limits limits,
      OptionalInt uid,
      int gid,
      List<Integer> supplementaryGroups,
      boolean detach,
      List<String> command) {
    ImmutableList.Builder<String> argv = ImmutableList.builder();
    argv.add("/bin/sh", "-c", SCRIPT, "jailer-launch");
    argv.add(seccompFilter.toString(), statusFile.toString(), stdoutLog.toString(),
        stderrLog.toString());
    argv.add(Integer.toString(procsFiles.size()));
    procsFiles.forEach(p -> argv.add(p.toString()));
    // setsid --fork: the shell's own process ends at once and the sandbox goes on as an orphan
    // that init reaps, so a running box is never the server's child: the JVM keeps no waiting
    // thread per box, and a restart of the server changes nothing for the box.
    if (detach) {
      argv.add("/usr/bin/setsid", "--fork");
    }
    argv.addAll(prlimit(limits));
    if (uid.isPresent()) {
      argv.add("/usr/bin/setpriv", "--reuid=" + uid.getAsInt(), "--regid=" + gid);
      if (supplementaryGroups.isEmpty()) {
        argv.add("--clear-groups");
      } else {
        argv.add("--groups=" + String.join(",",
            supplementaryGroups.stream().map(String::valueOf).toList()));
      }
      argv.add("--no-new-privs", "--");
    }
    argv.addAll(command);
    return argv.build();
  }

  /** The prlimit step; soft and hard limits alike, so the shim cannot raise them. */
  static ImmutableList<String> prlimit(Limits limits) {
    ImmutableList.Builder<String> argv = ImmutableList.builder();
    argv.add("/usr/bin/prlimit");
    if (limits.maxOpenFiles() > 0) {
      argv.add(both("--nofile", limits.maxOpenFiles()));
    }
    if (limits.maxFileSizeBytes() > 0) {
      argv.add(both("--fsize", limits.maxFileSizeBytes()));
    }
    if (limits.maxCpuSeconds() > 0) {
      argv.add(both("--cpu", limits.maxCpuSeconds()));
    }
    if (limits.maxAddressSpaceBytes() > 0) {
      argv.add(both("--as", limits.maxAddressSpaceBytes()));
    }
    // 0 here means no core dumps at all, not "unlimited": a core of a VMM holds guest memory.
    argv.add(both("--core", limits.maxCoreBytes()));
    argv.add("--");
    return argv.build();
  }

  private static String both(String option, long value) {
    return option + "=" + value + ":" + value;
  }
}
