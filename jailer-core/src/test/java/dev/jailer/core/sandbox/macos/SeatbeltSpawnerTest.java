package dev.jailer.core.sandbox.macos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.BoxUsers;
import dev.jailer.core.Jailer;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.JailerException;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.Limits;
import dev.jailer.core.box.RecordFiles;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.sandbox.Spawners;
import dev.jailer.core.sandbox.UnavailableSpawner;
import dev.jailer.core.sandbox.linux.DevelopmentSpawner;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.spawn.Spawner;
import dev.jailer.core.testing.Prerequisites;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the Seatbelt spawner builds, checked on any host: the exact launch argv, the launch
 * script run by real shells (bash 3.2 cannot be had here, so its 1024-byte units are stood for
 * by bash outside POSIX mode, which counts the same way), the records a spawn writes, the limits
 * reported as unenforced, and the platform choice of {@link Spawners}.
 */
class SeatbeltSpawnerTest {
  private static final Limits NO_LIMITS = new Limits(0, 0, 0, 0, 0, 0, 0, 0);
  private static final BoxLayout LAYOUT = new BoxLayout(Path.of("/srv/jailer/boxes/b1"));
  private static final Path SHIM = LAYOUT.bin().resolve("krun-shim");
  private static final Path SHIM_DIR = Path.of("/opt/krun");

  @TempDir Path tmp;

  private static List<PathGrant> grants() {
    return List.of(
        new PathGrant(LAYOUT.bin(), Access.READ_ONLY, true, "bin"),
        new PathGrant(SHIM_DIR, Access.READ_ONLY, true, "shim dir"),
        new PathGrant(LAYOUT.sockets(), Access.READ_WRITE, true, "sockets"));
  }

  private static SeatbeltProfile profile(boolean network) {
    return SeatbeltProfile.generate(
        grants(), List.of(SHIM_DIR.resolve("libkrunfw.5.dylib")), network, SHIM);
  }

  @Test
  void launchArgv_networkOffCoreOnly_exactArgv() {
    SeatbeltProfile profile = profile(false);
    SeatbeltCommand command =
        SeatbeltCommand.of(
            profile, List.of("--vm", "x y"), SeatbeltSpawner.environment(LAYOUT, Map.of()));

    ImmutableList<String> argv =
        SeatbeltSpawner.launchArgv(
            LAYOUT.stdoutLog(), LAYOUT.stderrLog(), NO_LIMITS, command);

    assertEquals(
        ImmutableList.of(
            "/bin/sh", "-c", SeatbeltSpawner.SCRIPT, "jailer-launch",
            "/srv/jailer/boxes/b1/jailer/stdout.log",
            "/srv/jailer/boxes/b1/jailer/stderr.log",
            "1",
            "-c", "0", "0",
            "/usr/bin/env", "-i",
            "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME=/srv/jailer/boxes/b1/tmp",
            "TMPDIR=/srv/jailer/boxes/b1/tmp",
            "/usr/bin/sandbox-exec", "-p", profile.text(),
            "-D", "GRANT_0=/srv/jailer/boxes/b1/bin",
            "-D", "GRANT_1=/opt/krun",
            "-D", "GRANT_2=/srv/jailer/boxes/b1/sockets",
            "-D", "MASK_0=/opt/krun/libkrunfw.5.dylib",
            "-D", "SHIM=/srv/jailer/boxes/b1/bin/krun-shim",
            "/srv/jailer/boxes/b1/bin/krun-shim", "--vm", "x y"),
        argv);
    assertFalse(profile.text().contains("network-outbound)"), profile.text());
  }

  @Test
  void launchArgv_networkOnEveryLimitAndCallerEnv_exactArgv() {
    BoxLayout layout = new BoxLayout(Path.of("/tmp/j/boxes/b2"));
    Path shim = layout.bin().resolve("shim");
    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            List.of(new PathGrant(layout.bin(), Access.READ_ONLY, true, "bin")), true, shim);
    SeatbeltCommand command =
        SeatbeltCommand.of(
            profile,
            List.of(),
            SeatbeltSpawner.environment(layout, Map.of("ZED", "last", "APP_MODE", "a=b c")));
    Limits limits =
        new Limits(1L << 30, 500, 64, 1024, (10L << 20) + 700, 60, 8L << 30, (1L << 20) + 100);

    ImmutableList<String> argv =
        SeatbeltSpawner.launchArgv(layout.stdoutLog(), layout.stderrLog(), limits, command);

    assertEquals(
        ImmutableList.of(
            "/bin/sh", "-c", SeatbeltSpawner.SCRIPT, "jailer-launch",
            "/tmp/j/boxes/b2/jailer/stdout.log",
            "/tmp/j/boxes/b2/jailer/stderr.log",
            "5",
            "-n", "1024", "1024",
            // 10 MiB + 700 bytes: 20481 whole 512-byte blocks, 10240 whole KiB.
            "-f", "20481", "10240",
            "-t", "60", "60",
            "-v", "8388608", "8388608",
            "-c", "2048", "1024",
            "/usr/bin/env", "-i",
            "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
            // /tmp is a symlink on macOS; the sandbox only ever sees /private/tmp.
            "HOME=/private/tmp/j/boxes/b2/tmp",
            "TMPDIR=/private/tmp/j/boxes/b2/tmp",
            "APP_MODE=a=b c",
            "ZED=last",
            "/usr/bin/sandbox-exec", "-p", profile.text(),
            "-D", "GRANT_0=/private/tmp/j/boxes/b2/bin",
            "-D", "SHIM=/private/tmp/j/boxes/b2/bin/shim",
            "/private/tmp/j/boxes/b2/bin/shim"),
        argv);
    assertTrue(profile.text().contains("(allow network-outbound)"), profile.text());
  }

  @Test
  void environment_neverHoldsLoaderVariables() {
    ImmutableMap<String, String> env = SeatbeltSpawner.environment(LAYOUT, Map.of("A", "1"));

    assertEquals(List.of("PATH", "HOME", "TMPDIR", "A"), env.keySet().asList());
    assertTrue(env.keySet().stream().noneMatch(n -> n.startsWith("DYLD_") || n.startsWith("LD_")));
  }

  @Test
  void unenforcedLimits_serverDefaults_memoryCpuAndPidsListed() {
    assertEquals(
        List.of("memory_bytes", "cpu_millis", "max_pids"),
        SeatbeltSpawner.unenforcedLimits(JailerConfig.DEFAULT_LIMITS));
    assertEquals(
        List.of("max_pids"),
        SeatbeltSpawner.unenforcedLimits(new Limits(0, 0, 10, 64, 0, 0, 0, 0)));
    assertEquals(List.of(), SeatbeltSpawner.unenforcedLimits(new Limits(0, 0, 0, 64, 1, 1, 1, 0)));
  }

  /** Runs the launch script under {@code shell} with every rlimit set; the end reads /proc. */
  private String runScript(List<String> shell, Limits limits, List<String> command)
      throws Exception {
    Path out = tmp.resolve("stdout.log");
    Path err = tmp.resolve("stderr.log");
    Files.writeString(out, "before\n");
    List<String> argv = new ArrayList<>(shell);
    argv.addAll(List.of("-c", SeatbeltSpawner.SCRIPT, "jailer-launch", out.toString(),
        err.toString()));
    argv.addAll(SeatbeltSpawner.ulimitArguments(limits));
    argv.addAll(command);
    ProcessBuilder builder = new ProcessBuilder(argv)
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    builder.environment().clear();
    builder.environment().put("PATH", SeatbeltSpawner.SANDBOX_PATH);
    builder.environment().put("SECRET", "must-not-pass");
    Process process = builder.start();
    String early = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS));
    assertEquals("", early, "nothing may reach the launcher's own stderr");
    assertEquals(0, process.exitValue(), Files.readString(err));
    String stdout = Files.readString(out);
    assertTrue(stdout.startsWith("before\n"), "the log is appended to, not truncated");
    return stdout.substring("before\n".length());
  }

  private static long limitOf(String procLimits, String name) {
    for (String line : procLimits.lines().toList()) {
      if (line.startsWith(name)) {
        String[] fields = line.substring(name.length()).trim().split("\\s+");
        assertEquals(fields[0], fields[1], "soft and hard differ for " + name);
        return Long.parseLong(fields[0]);
      }
    }
    throw new AssertionError("no " + name + " in " + procLimits);
  }

  private void assertLimitsApplied(List<String> shell) throws Exception {
    Prerequisites.require(Files.exists(Path.of("/proc/self/limits")), "/proc/self/limits");
    Limits limits =
        new Limits(0, 0, 0, 77, (3L << 20) + 100, 123, 3L << 30, (2L << 20) + 100);

    String procLimits =
        runScript(shell, limits, List.of("/usr/bin/env", "-i", "/bin/cat", "/proc/self/limits"));

    assertEquals(77, limitOf(procLimits, "Max open files"));
    // Sizes are rounded down to the shell's unit: never looser than asked.
    long fileSize = limitOf(procLimits, "Max file size");
    assertTrue(fileSize <= (3L << 20) + 100 && fileSize >= 3L << 20, "file size " + fileSize);
    assertEquals(123, limitOf(procLimits, "Max cpu time"));
    assertEquals(3L << 30, limitOf(procLimits, "Max address space"));
    long core = limitOf(procLimits, "Max core file size");
    assertTrue(core <= (2L << 20) + 100 && core >= 2L << 20, "core " + core);
  }

  @Test
  void script_underDash_limitsInBytesAsAsked() throws Exception {
    Prerequisites.require(Files.isExecutable(Path.of("/bin/dash")), "dash (apt-get install dash)");
    assertLimitsApplied(List.of("/bin/dash"));
  }

  @Test
  void script_underBashPosixMode_limitsInBytesAsAsked() throws Exception {
    Prerequisites.require(Files.isExecutable(Path.of("/bin/bash")), "bash");
    assertLimitsApplied(List.of("/bin/bash", "--posix"));
  }

  @Test
  void script_underBashOutsidePosixMode_kibUnitsChosen() throws Exception {
    Prerequisites.require(Files.isExecutable(Path.of("/bin/bash")), "bash");
    assertLimitsApplied(List.of("/bin/bash"));
  }

  @Test
  void script_envStep_shimSeesExactlyItsVariables() throws Exception {
    String env =
        runScript(
            List.of("/bin/bash", "--posix"),
            NO_LIMITS,
            List.of("/usr/bin/env", "-i", "PATH=/usr/bin", "A=x=y", "/usr/bin/env"));

    assertEquals("PATH=/usr/bin\nA=x=y\n", env);
  }

  @Test
  void script_coreSize_offByDefault() throws Exception {
    Prerequisites.require(Files.exists(Path.of("/proc/self/limits")), "/proc/self/limits");

    String procLimits =
        runScript(List.of("/bin/sh"), NO_LIMITS, List.of("/bin/cat", "/proc/self/limits"));

    assertEquals(0, limitOf(procLimits, "Max core file size"));
  }

  @Test
  void script_refusedLimit_exits122WithReason() throws Exception {
    Path out = tmp.resolve("o.log");
    Path err = tmp.resolve("e.log");
    List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", SeatbeltSpawner.SCRIPT,
        "jailer-launch", out.toString(), err.toString()));
    // More open files than the kernel allows any process (fs.nr_open), even root.
    argv.addAll(SeatbeltSpawner.ulimitArguments(new Limits(0, 0, 0, 1L << 40, 0, 0, 0, 0)));
    argv.add("/bin/true");

    Process process = new ProcessBuilder(argv).start();

    assertTrue(process.waitFor(30, TimeUnit.SECONDS));
    assertEquals(SeatbeltSpawner.EXIT_LIMIT_FAILED, process.exitValue());
    assertTrue(Files.readString(err).contains("jailer: cannot set ulimit -n"),
        Files.readString(err));
  }

  private static JailerConfig config(Path state, Path shimDir, Platform platform, boolean dev) {
    return new JailerConfig(state, platform, ImmutableList.of(shimDir), ImmutableList.of(),
        ImmutableList.of(), "jailer-test", BoxUsers.fixed("nobody"), JailerConfig.DEFAULT_LIMITS,
        Duration.ofSeconds(5), dev);
  }

  private Path macShimDir() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("opt/krun"));
    Files.writeString(dir.resolve("krun-shim"), "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(dir.resolve("krun-shim"),
        PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(dir.resolve("libkrunfw.5.dylib"), "krunfw");
    Files.createSymbolicLink(dir.resolve("libkrunfw.dylib"), Path.of("libkrunfw.5.dylib"));
    Files.writeString(dir.resolve("libkrun.1.dylib"), "krun");
    return dir;
  }

  @Test
  void spawn_withoutSandboxExec_failsClosedAfterWritingProfileAndRecord() throws Exception {
    Prerequisites.requireHostFeature(
        !Files.exists(Path.of(SeatbeltCommand.SANDBOX_EXEC)),
        "a host without sandbox-exec (this test checks the refusal)");
    Path shimDir = macShimDir();
    JailerConfig config = config(tmp.resolve("state"), shimDir, Platform.MACOS, false);
    try (Jailer jailer = new Jailer(config, Spawners.forHost(config))) {
      BoxView staged = jailer.stage("b1", shimDir.resolve("krun-shim").toString(), List.of());
      SpawnOptions options = new SpawnOptions(ImmutableList.of("--flag"),
          ImmutableMap.of("APP", "1"), true, NO_LIMITS, "", null);

      JailerException e =
          assertThrows(JailerException.class, () -> jailer.spawn("b1", options, () -> false));

      assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("/usr/bin/sandbox-exec is missing"), e.getMessage());
      BoxLayout layout = staged.layout();
      Path realShimDir = shimDir.toRealPath();
      SeatbeltProfile expected =
          SeatbeltProfile.generate(
              staged.grants(),
              List.of(realShimDir.resolve("libkrunfw.5.dylib"),
                  realShimDir.resolve("libkrunfw.dylib")),
              true,
              layout.bin().resolve("krun-shim"));
      assertEquals(expected.text(), Files.readString(SeatbeltSpawner.profileFile(layout)));
      SpawnRecord record = RecordFiles.read(layout.spawnRecord(), SpawnRecord.class).orElseThrow();
      assertEquals("seatbelt", record.sandbox());
      assertEquals(List.of("memory_bytes", "cpu_millis", "max_pids"), record.unenforcedLimits());
      assertEquals(List.of("APP"), record.envNames());
      SeatbeltCommand command =
          SeatbeltCommand.of(expected, List.of("--flag"),
              SeatbeltSpawner.environment(layout, Map.of("APP", "1")));
      assertEquals(
          SeatbeltSpawner.launchArgv(layout.stdoutLog(), layout.stderrLog(),
              JailerConfig.DEFAULT_LIMITS, command),
          record.commandLine());
      assertFalse(Files.exists(layout.pidRecord()), "nothing ran");
    }
  }

  @Test
  void spawn_seccompFileOnMacOs_failedPrecondition() throws Exception {
    Path shimDir = macShimDir();
    JailerConfig config = config(tmp.resolve("state"), shimDir, Platform.MACOS, false);
    try (Jailer jailer = new Jailer(config, new SeatbeltSpawner(config))) {
      jailer.stage("b1", shimDir.resolve("krun-shim").toString(), List.of());
      SpawnOptions options = new SpawnOptions(ImmutableList.of(), ImmutableMap.of(), false,
          NO_LIMITS, null, "/etc/seccomp/vmm.json");

      JailerException e =
          assertThrows(JailerException.class, () -> jailer.spawn("b1", options, () -> false));

      assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("only on Linux"), e.getMessage());
    }
  }

  @Test
  void forHost_macOsConfig_seatbeltSpawnerThatRunsNothingUntilAsked() {
    JailerConfig config = config(tmp.resolve("state"), tmp, Platform.MACOS, false);

    try (Spawner spawner = Spawners.forHost(config)) {
      assertInstanceOf(SeatbeltSpawner.class, spawner);
      assertEquals("seatbelt", spawner.kind());
      if (!Files.exists(Path.of(SeatbeltCommand.SANDBOX_EXEC))) {
        assertTrue(spawner.problem().orElseThrow().contains("sandbox-exec is missing"));
      }
    }
  }

  @Test
  void forHost_otherPlatform_refusesWithReason() {
    JailerConfig config = config(tmp.resolve("state"), tmp, Platform.OTHER, false);

    try (Spawner spawner = Spawners.forHost(config)) {
      assertInstanceOf(UnavailableSpawner.class, spawner);
      assertTrue(spawner.problem().orElseThrow().contains("--development"));
    }
  }

  @Test
  void forHost_developmentMode_noSandboxOnAnyPlatform() {
    JailerConfig config = config(tmp.resolve("state"), tmp, Platform.MACOS, true);

    try (Spawner spawner = Spawners.forHost(config)) {
      assertInstanceOf(DevelopmentSpawner.class, spawner);
    }
  }

  @Test
  void sameProcess_liveChild_matchesOnlyItsOwnStartTime() throws Exception {
    Process child = new ProcessBuilder("/bin/sleep", "30").start();
    try {
      long mark = SeatbeltSpawner.startMark(child.pid()).orElseThrow();

      assertTrue(SeatbeltSpawner.sameProcess(child.pid(), mark).isPresent());
      assertFalse(SeatbeltSpawner.sameProcess(child.pid(), mark - 1000).isPresent());
      child.destroyForcibly().waitFor();
      assertFalse(SeatbeltSpawner.sameProcess(child.pid(), mark).isPresent());
    } finally {
      child.destroyForcibly();
    }
  }
}
