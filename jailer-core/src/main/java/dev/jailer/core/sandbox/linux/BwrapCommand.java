package dev.jailer.core.sandbox.linux;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Composes the bubblewrap argument list of one box (DESIGN.md section 4). Pure: it reads
 * nothing from the disk, so what would run is checked exactly by tests.
 *
 * <p>The shim sees every granted path at its host path, so the paths the VMM is given on its
 * command line mean the same inside and outside.
 */
public final class BwrapCommand {
  /** The descriptor on which the launcher hands bubblewrap the compiled seccomp filter. */
  public static final int SECCOMP_FD = 3;

  /** The descriptor on which bubblewrap writes its JSON status lines. */
  public static final int STATUS_FD = 4;

  /** PATH inside the sandbox. */
  public static final String SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

  /**
   * A top-level system directory of the host and how it appears inside: bound read-only, or
   * recreated as the same symlink (on merged-/usr systems {@code /lib} is {@code usr/lib}).
   *
   * @param path the directory, for example {@code /lib}
   * @param symlinkTarget the symlink's target when the host has a symlink there, else null
   */
  public record SystemDir(String path, String symlinkTarget) {}

  /**
   * Everything the command depends on.
   *
   * @param bwrap absolute path of the bubblewrap executable
   * @param systemDirs the host's system directories that exist
   * @param grants the box's path grants, in order
   * @param masked files to hide inside the sandbox by binding {@code /dev/null} over them
   * @param devices device nodes to bind (those of /dev/kvm and /dev/net/tun that exist)
   * @param network whether the shim keeps the host's network
   * @param resolverFiles /etc files name resolution needs, bound only with networking on
   * @param env the environment inside, in full (the jailer's variables and the caller's)
   * @param shim the staged shim's absolute path
   * @param args the shim's arguments
   */
  public record Input(
      Path bwrap,
      List<SystemDir> systemDirs,
      List<PathGrant> grants,
      List<Path> masked,
      List<Path> devices,
      boolean network,
      List<Path> resolverFiles,
      Map<String, String> env,
      Path shim,
      List<String> args) {
    public Input {
      requireNonNull(bwrap, "bwrap");
      requireNonNull(shim, "shim");
    }
  }

  private BwrapCommand() {}

  /** The full argv, starting with the bubblewrap executable. */
  public static ImmutableList<String> argv(Input in) {
    ImmutableList.Builder<String> argv = ImmutableList.builder();
    argv.add(in.bwrap().toString());
    // A new user namespace lets an unprivileged box user build the rest; the others cut the
    // shim off from the host's processes, IPC objects, hostname and cgroup paths.
    argv.add("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts");
    argv.add("--unshare-cgroup-try");
    if (!in.network()) {
      argv.add("--unshare-net");
    }
    // A new session detaches the shim from any controlling terminal, which defeats TIOCSTI
    // keystroke injection into the launcher's terminal.
    argv.add("--new-session");
    for (SystemDir dir : in.systemDirs()) {
      if (dir.symlinkTarget() != null) {
        argv.add("--symlink", dir.symlinkTarget(), dir.path());
      } else {
        argv.add("--ro-bind", dir.path(), dir.path());
      }
    }
    if (in.network()) {
      for (Path file : in.resolverFiles()) {
        argv.add("--ro-bind-try", file.toString(), file.toString());
      }
    }
    argv.add("--dev", "/dev");
    for (Path device : in.devices()) {
      argv.add("--dev-bind", device.toString(), device.toString());
    }
    argv.add("--proc", "/proc");
    argv.add("--tmpfs", "/tmp");
    for (PathGrant grant : in.grants()) {
      String path = grant.path().toString();
      argv.add(grant.access() == Access.READ_ONLY ? "--ro-bind" : "--bind", path, path);
    }
    // Masks come after the grants they lie in, so they cover what the grants exposed.
    for (Path masked : in.masked()) {
      argv.add("--ro-bind", "/dev/null", masked.toString());
    }
    // bwrap keeps the launcher's environment unless told otherwise; only what is listed here
    // reaches the shim.
    argv.add("--clearenv");
    for (Map.Entry<String, String> variable : new TreeMap<>(in.env()).entrySet()) {
      argv.add("--setenv", variable.getKey(), variable.getValue());
    }
    argv.add("--chdir", "/");
    argv.add("--seccomp", Integer.toString(SECCOMP_FD));
    argv.add("--json-status-fd", Integer.toString(STATUS_FD));
    argv.add("--", in.shim().toString());
    argv.addAll(in.args());
    return argv.build();
  }
}
