package dev.jailer.bench;

import dev.jailer.core.box.Limits;
import dev.jailer.core.cgroup.CgroupHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Spawn baseline: Jailer's launch chain done by hand in one shell script. It creates the
 * box's cgroup in every hierarchy that holds a controller Jailer uses, writes the same limits,
 * hands the writable directories to the box user, opens the same descriptors, joins the
 * cgroups and then executes exactly the command Jailer executed ({@code setsid --fork prlimit
 * ... setpriv ... bwrap ...}, taken from a real Spawn's command line), with the box's paths
 * pointed at another box and the seccomp filter read from the BPF file that Spawn compiled.
 *
 * <p>What it leaves out is exactly what Jailer adds: the RPC, compiling the filter, the
 * records, following the process.
 */
final class BaselineLaunch {
  private final String script;
  private final List<String> tail;
  private final Path boxDir;
  private final String uid;
  private final String gid;

  private BaselineLaunch(String script, List<String> tail, Path boxDir, String uid, String gid) {
    this.script = script;
    this.tail = tail;
    this.boxDir = boxDir;
    this.uid = uid;
    this.gid = gid;
  }

  /**
   * Derives the baseline from a Spawn's command line.
   *
   * @param commandLine Inspect's {@code command_line} of a box Jailer spawned
   * @param jailerBox that box's directory
   * @param baseBox a staged box the baseline runs in instead
   * @param cgroup the baseline's cgroup path below each hierarchy, {@code parent/name}
   * @param limits the limits Jailer applied (its defaults)
   * @throws IllegalArgumentException when the command line is not the launch chain's shape
   */
  static BaselineLaunch from(
      List<String> commandLine, Path jailerBox, Path baseBox, String cgroup, Limits limits) {
    if (commandLine.size() < 10 || !commandLine.get(0).equals("/bin/sh")) {
      throw new IllegalArgumentException("not a launch chain: " + commandLine);
    }
    int cgroups = Integer.parseInt(commandLine.get(8));
    List<String> tail = new ArrayList<>();
    boolean moved = false;
    for (String arg : commandLine.subList(9 + cgroups, commandLine.size())) {
      String replaced = arg.replace(jailerBox.toString(), baseBox.toString());
      moved |= !replaced.equals(arg);
      tail.add(replaced);
    }
    if (!moved || !tail.get(0).endsWith("setsid")) {
      throw new IllegalArgumentException("unexpected launch chain: " + commandLine);
    }
    String uid = valueOf(tail, "--reuid=");
    String gid = valueOf(tail, "--regid=");

    Map<Path, Set<String>> mounts = new LinkedHashMap<>();
    Map<Path, Boolean> unified = new LinkedHashMap<>();
    for (CgroupHost.Placement placement : CgroupHost.detect().placements().values()) {
      mounts.computeIfAbsent(placement.mountPoint(), m -> new LinkedHashSet<>())
          .add(placement.controller());
      unified.put(placement.mountPoint(), placement.unified());
    }
    StringBuilder text = new StringBuilder();
    text.append("# Jailer's launch chain by hand: the benchmark's Spawn baseline.\n")
        .append("# $1 box directory, $2 uid, $3 gid;\n")
        .append("# then setsid --fork prlimit ... setpriv ... bwrap ...\n")
        .append("box=$1 uid=$2 gid=$3\n")
        .append("shift 3\n")
        .append("chown \"$uid:$gid\" \"$box/shared\" \"$box/sockets\" \"$box/tmp\""
            + " \"$box/logs\" || exit 1\n");
    List<String> procs = new ArrayList<>();
    long quota = limits.cpuMillis() * 100;
    for (Map.Entry<Path, Set<String>> mount : mounts.entrySet()) {
      Path dir = mount.getKey().resolve(cgroup);
      boolean v2 = unified.get(mount.getKey());
      text.append("mkdir ").append(dir).append(" || exit 1\n");
      for (String controller : mount.getValue()) {
        switch (controller) {
          case "memory" -> {
            if (v2) {
              write(text, dir.resolve("memory.max"), limits.memoryBytes());
              if (Files.exists(mount.getKey().resolve(cgroup).getParent()
                  .resolve("memory.swap.max"))) {
                write(text, dir.resolve("memory.swap.max"), 0);
              }
            } else {
              write(text, dir.resolve("memory.limit_in_bytes"), limits.memoryBytes());
              if (Files.exists(mount.getKey().resolve("memory.memsw.limit_in_bytes"))) {
                write(text, dir.resolve("memory.memsw.limit_in_bytes"), limits.memoryBytes());
              }
            }
          }
          case "cpu" -> {
            if (v2) {
              text.append("echo '").append(quota).append(" 100000' >")
                  .append(dir.resolve("cpu.max")).append(" || exit 1\n");
            } else {
              write(text, dir.resolve("cpu.cfs_period_us"), 100000);
              write(text, dir.resolve("cpu.cfs_quota_us"), quota);
            }
          }
          case "pids" -> write(text, dir.resolve("pids.max"), limits.maxPids());
          default -> {
            // cpuacct: accounting only.
          }
        }
      }
      procs.add(dir.resolve("cgroup.procs").toString());
    }
    text.append("exec </dev/null 3<\"$box/jailer/seccomp.bpf\" 4>\"$box/jailer/bwrap-status.jsonl\""
        + " >>\"$box/jailer/stdout.log\" 2>>\"$box/jailer/stderr.log\" || exit 1\n");
    for (String file : procs) {
      text.append("echo $$ >").append(file).append(" || exit 1\n");
    }
    text.append("exec \"$@\"\n");
    return new BaselineLaunch(text.toString(), List.copyOf(tail), baseBox, uid, gid);
  }

  private static void write(StringBuilder text, Path file, long value) {
    text.append("echo ").append(value).append(" >").append(file).append(" || exit 1\n");
  }

  private static String valueOf(List<String> argv, String prefix) {
    return argv.stream().filter(a -> a.startsWith(prefix)).findFirst()
        .map(a -> a.substring(prefix.length()))
        .orElseThrow(() -> new IllegalArgumentException("no " + prefix + " in " + argv));
  }

  /** The script's text. */
  String script() {
    return script;
  }

  /** The argv that runs the script stored at {@code scriptFile}. */
  List<String> command(Path scriptFile) {
    List<String> command = new ArrayList<>(List.of("/bin/sh", scriptFile.toString(),
        boxDir.toString(), uid, gid));
    command.addAll(tail);
    return command;
  }
}
