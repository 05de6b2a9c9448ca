package dev.jailer.core.box;

import com.google.common.collect.ImmutableList;
import java.nio.file.Path;

/**
 * The directory layout of one box (see DESIGN.md section 3). Pure path arithmetic: nothing here
 * touches the disk.
 *
 * <p>The shim can write to {@code shared/}, {@code sockets/}, {@code tmp/} and {@code logs/};
 * anything there may be a symlink it planted. The jailer's own records live in {@code jailer/},
 * which no sandbox can see.
 */
public final class BoxLayout {
  /**
   * Room reserved for the name of a socket the VMM creates in {@code sockets/} (for example
   * {@code vsock-4294967295.sock} is 21 bytes). Stage checks that the socket directory plus this
   * many bytes fits the platform's limit, so the VMM never fails on a path that is too long.
   */
  public static final int SOCKET_NAME_RESERVE = 24;

  private final Path dir;

  public BoxLayout(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  /** The layout of {@code boxId} under {@code stateDir}: {@code <stateDir>/boxes/<boxId>}. */
  public static BoxLayout of(Path stateDir, String boxId) {
    return new BoxLayout(boxesDir(stateDir).resolve(boxId));
  }

  /** The directory holding every box of a state directory. */
  public static Path boxesDir(Path stateDir) {
    return stateDir.toAbsolutePath().normalize().resolve("boxes");
  }

  /** The box directory itself; never granted to the shim as a whole. */
  public Path dir() {
    return dir;
  }

  /** The box id, which is the directory's name. */
  public String boxId() {
    return dir.getFileName().toString();
  }

  /** Read-only for the shim: the copied shim and libkrunfw. */
  public Path bin() {
    return dir.resolve("bin");
  }

  /** Read-write for the shim: the share root the guest sees. */
  public Path shared() {
    return dir.resolve("shared");
  }

  /** Read-write for the shim: the VMM's Unix sockets. */
  public Path sockets() {
    return dir.resolve("sockets");
  }

  /** Read-write for the shim: its TMPDIR. */
  public Path tmp() {
    return dir.resolve("tmp");
  }

  /** Read-write for the shim: its own log files. */
  public Path logs() {
    return dir.resolve("logs");
  }

  /** Host side only; never granted. */
  public Path mounts() {
    return dir.resolve("mounts");
  }

  /** The jailer's own records; never granted. */
  public Path jailer() {
    return dir.resolve("jailer");
  }

  /** Directories the shim may write, in a stable order. */
  public ImmutableList<Path> writableDirs() {
    return ImmutableList.of(shared(), sockets(), tmp(), logs());
  }

  /** Every directory of the layout, in creation order. */
  public ImmutableList<Path> allDirs() {
    return ImmutableList.of(bin(), shared(), sockets(), tmp(), logs(), mounts(), jailer());
  }

  /** Length in bytes of the longest socket path the box will use. */
  public int longestSocketPathBytes() {
    return sockets().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
        + 1
        + SOCKET_NAME_RESERVE;
  }

  /** What the last Stage copied and fingerprinted. */
  public Path stageRecord() {
    return jailer().resolve("stage.json");
  }

  /** How the box was last spawned. */
  public Path spawnRecord() {
    return jailer().resolve("spawn.json");
  }

  /** The running shim's pid and start time. */
  public Path pidRecord() {
    return jailer().resolve("pid.json");
  }

  /** How the last shim ended. */
  public Path exitRecord() {
    return jailer().resolve("exit.json");
  }

  /** bubblewrap's {@code --json-status-fd} output: the init pid first, the exit code last. */
  public Path bwrapStatus() {
    return jailer().resolve("bwrap-status.jsonl");
  }

  /** The compiled seccomp filter handed to bubblewrap. */
  public Path seccompFilter() {
    return jailer().resolve("seccomp.bpf");
  }

  /** The shim's stdout, appended by the launcher, never opened by the shim by path. */
  public Path stdoutLog() {
    return jailer().resolve("stdout.log");
  }

  /** The shim's (and the sandbox's) stderr, appended by the launcher. */
  public Path stderrLog() {
    return jailer().resolve("stderr.log");
  }
}
