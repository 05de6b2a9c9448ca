package dev.jailer.core.sandbox.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.BoxUsers;
import dev.jailer.core.Jailer;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.JailerException;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.Limits;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.nativeaccess.NativeAccess;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.stage.VolumeSpec;
import dev.jailer.core.testing.Gcc;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.core.testing.TestCgroups;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spawns real shims under real bubblewrap, seccomp, cgroups, rlimits and an unprivileged user,
 * and checks from the inside and the outside what each guarantee promises.
 */
class LinuxSandboxTest {
  private static final Limits NO_REQUEST = new Limits(0, 0, 0, 0, 0, 0, 0, 0);

  @TempDir static Path shared;
  static Path shimDir;

  @TempDir Path tmp;
  private Path root;
  private String cgroupParent;
  private Jailer jailer;

  @BeforeAll
  static void buildShims() throws Exception {
    Prerequisites.require(Gcc.isAvailable(), "gcc (apt-get install gcc)");
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path src = Files.createDirectories(shared.resolve("src"));
    shimDir = Files.createDirectories(shared.resolve("opt/krun"));
    Path probe = Gcc.resource(LinuxSandboxTest.class, "probe.c", src);
    Path fakeKrun = Gcc.resource(LinuxSandboxTest.class, "fakekrun.c", src);
    Path fakeKrunfw = Gcc.resource(LinuxSandboxTest.class, "fakekrunfw.c", src);
    Path krunShim = Gcc.resource(LinuxSandboxTest.class, "krunshim.c", src);
    Gcc.run("-O1", "-o", shimDir.resolve("probe").toString(), probe.toString());
    Gcc.run("-shared", "-fPIC", "-Wl,-soname,libkrunfw.so.5", "-o",
        shimDir.resolve("libkrunfw.so.5.2.1").toString(), fakeKrunfw.toString());
    Files.createSymbolicLink(shimDir.resolve("libkrunfw.so.5"), Path.of("libkrunfw.so.5.2.1"));
    Files.createSymbolicLink(shimDir.resolve("libkrunfw.so"), Path.of("libkrunfw.so.5"));
    Gcc.run("-shared", "-fPIC", "-Wl,-soname,libkrun.so.1", "-o",
        shimDir.resolve("libkrun.so.1").toString(), fakeKrun.toString(), "-ldl");
    Files.createSymbolicLink(shimDir.resolve("libkrun.so"), Path.of("libkrun.so.1"));
    Files.writeString(shimDir.resolve("libgvproxy.so"), "not a real library");
    Gcc.run("-o", shimDir.resolve("krun-shim").toString(), krunShim.toString(),
        "-L" + shimDir, "-lkrun");
  }

  @BeforeEach
  void setUp() throws IOException {
    Prerequisites.require(Files.isExecutable(Path.of("/usr/bin/bwrap")),
        "bubblewrap (apt-get install bubblewrap)");
    Prerequisites.require(NativeAccess.isSeccompAvailable(),
        "libseccomp: " + NativeAccess.seccompUnavailabilityCause().orElse(""));
    Prerequisites.require(BoxUserResolver.serverUid() == 0, "running as root");
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    root = tmp;
    cgroupParent = TestCgroups.newParent();
    jailer = newJailer(JailerConfig.DEFAULT_LIMITS);
  }

  private Jailer newJailer(Limits defaults) throws IOException {
    return new Jailer(config(BoxUsers.fixed("nobody"), defaults, false),
        new LinuxSpawner(config(BoxUsers.fixed("nobody"), defaults, false), CgroupHost.detect()));
  }

  private JailerConfig config(BoxUsers users, Limits defaults, boolean development)
      throws IOException {
    return new JailerConfig(
        root.resolve("state"),
        Platform.LINUX,
        ImmutableList.of(shimDir),
        ImmutableList.of(Files.createDirectories(root.resolve("volumes"))),
        ImmutableList.of(Files.createDirectories(root.resolve("seccomp"))),
        cgroupParent,
        users,
        defaults,
        Duration.ofSeconds(2),
        development);
  }

  private Jailer replaceJailer(JailerConfig config, dev.jailer.core.spawn.Spawner spawner) {
    jailer.close();
    jailer = new Jailer(config, spawner);
    return jailer;
  }

  @AfterEach
  void tearDown() throws Exception {
    if (jailer == null) {
      return;
    }
    for (BoxView box : jailer.list(Optional.of(BoxState.RUNNING))) {
      jailer.stop(box.boxId(), Duration.ofMillis(100));
    }
    jailer.close();
    TestCgroups.removeParent(cgroupParent);
  }

  private static SpawnOptions options(String... args) {
    return new SpawnOptions(ImmutableList.copyOf(args), ImmutableMap.of(), false, NO_REQUEST,
        "", null);
  }

  private BoxView stage(String boxId, String shim) {
    return jailer.stage(boxId, shimDir.resolve(shim).toString(), List.of());
  }

  private BoxView awaitExit(String boxId) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      BoxView view = jailer.inspect(boxId);
      if (view.state() == BoxState.EXITED) {
        return view;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("box " + boxId + " did not exit within 30 s");
  }

  private BoxView run(String boxId, SpawnOptions options) throws Exception {
    stage(boxId, "probe");
    jailer.spawn(boxId, options, () -> false);
    return awaitExit(boxId);
  }

  private static void awaitOutput(BoxView box, String text) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!stdout(box).contains(text)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no \"" + text + "\" in the output of " + box.boxId());
      }
      Thread.sleep(5);
    }
  }

  private static String stdout(BoxView box) throws IOException {
    return Files.readString(box.layout().stdoutLog());
  }

  private static String stderr(BoxView box) throws IOException {
    return Files.readString(box.layout().stderrLog());
  }

  @Test
  void spawn_krunShim_loadsBoxCopyOfKrunfwAndOriginalLibkrun() throws Exception {
    stage("design", "krun-shim");
    jailer.spawn("design", options(), () -> false);
    BoxView box = awaitExit("design");

    String out = stdout(box);
    assertEquals(0, box.exit().orElseThrow().exitCode(), out + stderr(box));
    assertTrue(out.contains("krunfw version 5.2.1"), out);
    Path bin = box.layout().bin();
    assertTrue(out.contains("mapped " + bin.resolve("libkrunfw.so.5.2.1")), out);
    assertTrue(out.contains("mapped " + shimDir.resolve("libkrun.so.1")), out);
    assertFalse(out.contains("mapped " + shimDir.resolve("libkrunfw")), out);
  }

  @Test
  void spawn_boxLostItsKrunfw_refusedInsteadOfLoadingTheOriginal() throws Exception {
    stage("lost", "krun-shim");
    Files.delete(BoxLayoutFiles.bin(jailer, "lost").resolve("libkrunfw.so.5.2.1"));

    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("lost", options(), () -> false));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("libkrunfw.so.5.2.1"), e.getMessage());
  }

  @Test
  void spawn_originalKrunfwInsideSandbox_isMaskedWhileLibkrunStaysReadable() throws Exception {
    BoxView masked =
        run("mask", options("read", shimDir.resolve("libkrunfw.so.5.2.1").toString()));
    BoxView open = run("nomask", options("read", shimDir.resolve("libkrun.so.1").toString()));

    // /dev/null is bound over the original; bubblewrap's binds carry nodev, so opening it fails.
    assertTrue(stdout(masked).startsWith("denied "), stdout(masked));
    assertTrue(stdout(open).startsWith("allowed "), stdout(open));
  }

  @Test
  void spawn_librariesChangedSinceStage_refusedWithTheirNames() throws Exception {
    stage("changed", "probe");
    Path gvproxy = shimDir.resolve("libgvproxy.so");
    String before = Files.readString(gvproxy);
    try {
      Files.writeString(gvproxy, "upgraded on the host");

      JailerException e = assertThrows(JailerException.class,
          () -> jailer.spawn("changed", options(), () -> false));

      assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("libgvproxy.so"), e.getMessage());
    } finally {
      Files.writeString(gvproxy, before);
    }
  }

  @Test
  void spawn_runningShim_reportsShimPidAsUnprivilegedHostUser() throws Exception {
    stage("pid", "probe");
    BoxView running = jailer.spawn("pid", options("sleep"), () -> false);

    long pid = running.pid().orElseThrow().pid();
    assertEquals(BoxState.RUNNING, running.state());
    assertEquals(running.layout().bin().resolve("probe").toString(), ProcFs.exe(pid).orElseThrow());
    String status = Files.readString(Path.of("/proc/" + pid + "/status"));
    String uidLine = status.lines().filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
    assertTrue(uidLine.matches("Uid:\\s+65534\\s+65534\\s+65534\\s+65534"), uidLine);
    assertEquals("bubblewrap", running.spawn().orElseThrow().sandbox());
    assertTrue(running.spawn().orElseThrow().commandLine().contains("--unshare-net"));

    BoxView stopped = jailer.stop("pid", Duration.ofSeconds(5));

    assertEquals(BoxState.EXITED, stopped.state());
    assertEquals(143, stopped.exit().orElseThrow().exitCode());
    assertEquals(15, stopped.exit().orElseThrow().exitSignal());
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
  }

  @Test
  void stop_shimIgnoringSigterm_isKilledAfterGrace() throws Exception {
    stage("stubborn", "probe");
    BoxView running = jailer.spawn("stubborn", options("term"), () -> false);
    awaitOutput(running, "ignoring SIGTERM");

    BoxView stopped = jailer.stop("stubborn", Duration.ofMillis(300));

    assertEquals(137, stopped.exit().orElseThrow().exitCode());
    assertEquals(9, stopped.exit().orElseThrow().exitSignal());
  }

  @Test
  void spawn_againRightAfterStop_runsWithoutWaitingForTheOldInit() throws Exception {
    stage("again", "probe");
    jailer.spawn("again", options("sleep"), () -> false);
    jailer.stop("again", Duration.ofSeconds(5));

    long t0 = System.nanoTime();
    BoxView again = jailer.spawn("again", options("sleep"), () -> false);
    Duration took = Duration.ofNanos(System.nanoTime() - t0);

    assertEquals(BoxState.RUNNING, again.state());
    assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "took " + took);
  }

  @Test
  void spawn_runningBox_failedPrecondition() throws Exception {
    stage("twice", "probe");
    jailer.spawn("twice", options("sleep"), () -> false);

    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("twice", options("sleep"), () -> false));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
  }

  @Test
  void spawn_readOutsideGrants_denied() throws Exception {
    Path secret = Files.writeString(root.resolve("host-secret"), "secret");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r--r--"));

    BoxView box = run("read", options("read", secret.toString()));

    assertTrue(stdout(box).startsWith("denied " + secret), stdout(box));
  }

  @Test
  void spawn_writeIntoBin_denied() throws Exception {
    stage("bin", "probe");
    Path target = BoxLayoutFiles.bin(jailer, "bin").resolve("probe");
    jailer.spawn("bin", options("write", target.toString()), () -> false);
    BoxView box = awaitExit("bin");

    assertTrue(stdout(box).startsWith("denied " + target), stdout(box));
  }

  @Test
  void spawn_writeIntoLogs_allowedAndOwnedByBoxUser() throws Exception {
    stage("logs", "probe");
    Path target = BoxLayoutFiles.logs(jailer, "logs").resolve("console.log");
    jailer.spawn("logs", options("write", target.toString()), () -> false);
    BoxView box = awaitExit("logs");

    assertTrue(stdout(box).startsWith("allowed " + target), stdout(box));
    assertEquals(65534, Files.getAttribute(target, "unix:uid"));
  }

  @Test
  void spawn_networkingOff_onlyLoopbackExists() throws Exception {
    BoxView box = run("net", options("ifaces"));

    assertEquals("iface lo\n", stdout(box));
  }

  @Test
  void spawn_forbiddenSyscall_killsShimAndInspectSaysHow() throws Exception {
    BoxView box = run("seccomp", options("forbidden"));

    assertEquals("before\n", stdout(box));
    assertEquals(159, box.exit().orElseThrow().exitCode());
    assertTrue(box.exit().orElseThrow().message().contains("signal 31"),
        box.exit().orElseThrow().message());
  }

  @Test
  void spawn_memoryHog_killedByCgroupAndInspectSaysSo() throws Exception {
    stage("hog", "probe");
    SpawnOptions hog = new SpawnOptions(ImmutableList.of("hog"), ImmutableMap.of(), false,
        new Limits(32L << 20, 0, 0, 0, 0, 0, 0, 0), "", null);
    jailer.spawn("hog", hog, () -> false);
    BoxView box = awaitExit("hog");

    assertTrue(box.exit().orElseThrow().oomKilled(), box.exit().toString());
    assertEquals(137, box.exit().orElseThrow().exitCode());
    assertEquals(9, box.exit().orElseThrow().exitSignal());
    assertTrue(box.exit().orElseThrow().usage().memoryPeakBytes() > (16L << 20));
  }

  @Test
  void spawn_forkBomb_stopsAtPidsLimit() throws Exception {
    stage("forks", "probe");
    SpawnOptions forks = new SpawnOptions(ImmutableList.of("forks", "100"), ImmutableMap.of(),
        false, new Limits(0, 0, 20, 0, 0, 0, 0, 0), "", null);
    jailer.spawn("forks", forks, () -> false);
    BoxView box = awaitExit("forks");

    String out = stdout(box);
    int made = Integer.parseInt(out.replaceAll("(?s).*forked (\\d+) of 100.*", "$1"));
    assertTrue(made < 20, out);
  }

  @Test
  void spawn_openFilesLimit_holds() throws Exception {
    stage("nofile", "probe");
    SpawnOptions nofile = new SpawnOptions(ImmutableList.of("nofile"), ImmutableMap.of(), false,
        new Limits(0, 0, 0, 32, 0, 0, 0, 0), "", null);
    jailer.spawn("nofile", nofile, () -> false);
    BoxView box = awaitExit("nofile");

    // 0, 1 and 2 are open, so 29 more fit under a limit of 32.
    assertTrue(stdout(box).startsWith("opened 29 more"), stdout(box));
  }

  @Test
  void spawn_environment_onlyJailerAndCallerVariables() throws Exception {
    assertEquals("do-not-leak-4f1c", System.getenv("JAILER_TEST_SECRET"),
        "the test JVM must carry the secret this test looks for");
    stage("env", "probe");
    SpawnOptions env = new SpawnOptions(ImmutableList.of("env"),
        ImmutableMap.of("GUEST_NAME", "alpine"), false, NO_REQUEST, "", null);
    jailer.spawn("env", env, () -> false);
    BoxView box = awaitExit("env");

    List<String> names = new ArrayList<>();
    stdout(box).lines().forEach(l -> names.add(l.substring(4, l.indexOf('='))));
    names.sort(null);
    // PWD is set by bubblewrap itself to the working directory, "/".
    assertEquals(List.of("GUEST_NAME", "HOME", "LD_LIBRARY_PATH", "PATH", "PWD", "TMPDIR"), names);
    assertTrue(stdout(box).contains("LD_LIBRARY_PATH=" + box.layout().bin() + ":"
        + shimDir.toRealPath()), stdout(box));
    assertFalse(stdout(box).contains("do-not-leak"));
  }

  @Test
  void spawn_openDescriptors_exactlyStdio() throws Exception {
    BoxView box = run("fds", options("fds"));

    assertEquals("fd 0\nfd 1\nfd 2\n", stdout(box));
  }

  @Test
  void spawn_plantedSymlinks_neverMakeJailerWriteOutsideBox() throws Exception {
    Path victim = Files.writeString(root.resolve("victim"), "precious");
    stage("plant", "probe");
    Path logs = BoxLayoutFiles.logs(jailer, "plant");
    jailer.spawn("plant", options("plant", logs.resolve("console.log").toString(),
        victim.toString()), () -> false);
    awaitExit("plant");

    jailer.spawn("plant", options("hello"), () -> false);
    BoxView box = awaitExit("plant");

    assertEquals("precious", Files.readString(victim));
    assertEquals(0, Files.getAttribute(victim, "unix:uid"));
    assertTrue(stdout(box).contains("hello from the box"));
  }

  @Test
  void spawn_exitCode_recordedAndCgroupRemoved() throws Exception {
    BoxView box = run("exit", options("exit", "7"));

    assertEquals(7, box.exit().orElseThrow().exitCode());
    assertEquals(0, box.exit().orElseThrow().exitSignal());
    assertTrue(CgroupHost.detect().open(cgroupParent, "exit").isEmpty());
    assertTrue(Files.exists(box.layout().exitRecord()));
  }

  @Test
  void spawn_volume_readOnlyGrantVisibleAndNotWritable() throws Exception {
    Path data = Files.createDirectories(root.resolve("volumes/data"));
    Files.setPosixFilePermissions(root.resolve("volumes"),
        PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxrwxrwx"));
    Files.writeString(data.resolve("in"), "volume data");
    jailer.stage("vol", shimDir.resolve("probe").toString(),
        List.of(new VolumeSpec(data.toString(), "/data", true)));
    jailer.spawn("vol", options("write", data.resolve("new").toString()), () -> false);
    BoxView box = awaitExit("vol");

    assertTrue(stdout(box).startsWith("denied"), stdout(box));
    assertFalse(Files.exists(data.resolve("new")));
  }

  @Test
  void spawn_cancelledWhileStarting_leavesNothingRunning() throws Exception {
    stage("cancel", "probe");

    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("cancel", options("sleep"), () -> true));

    assertEquals(JailerException.Kind.CANCELLED, e.kind());
    assertEquals(BoxState.STAGED, jailer.inspect("cancel").state());
    assertTrue(CgroupHost.detect().open(cgroupParent, "cancel").isEmpty());
  }

  @Test
  void spawn_loaderVariable_invalidArgument() {
    stage("ld", "probe");
    SpawnOptions preload = new SpawnOptions(ImmutableList.of(), ImmutableMap.of("LD_PRELOAD",
        "/tmp/x.so", "GCONV_PATH", "/tmp", "1BAD", "x"), false, NO_REQUEST, "", null);

    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("ld", preload, () -> false));

    assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals(3, e.violations().size(), e.violations().toString());
  }

  @Test
  void spawn_unknownBox_notFound() {
    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("nobox", options(), () -> false));

    assertEquals(JailerException.Kind.NOT_FOUND, e.kind());
  }

  @Test
  void restart_runningBoxIsReattachedAndEndedBoxRecorded() throws Exception {
    stage("keeps", "probe");
    stage("ends", "probe");
    long keeps = jailer.spawn("keeps", options("sleep"), () -> false).pid().orElseThrow().pid();
    long ends = jailer.spawn("ends", options("sleep"), () -> false).pid().orElseThrow().pid();
    jailer.close();
    jailer = null;
    ProcessHandle.of(ends).orElseThrow().destroy();
    ProcessHandle.of(ends).ifPresent(p -> p.onExit().join());
    Thread.sleep(300);

    jailer = newJailer(JailerConfig.DEFAULT_LIMITS);

    BoxView kept = jailer.inspect("keeps");
    assertEquals(BoxState.RUNNING, kept.state());
    assertEquals(keeps, kept.pid().orElseThrow().pid());
    BoxView ended = jailer.inspect("ends");
    assertEquals(BoxState.EXITED, ended.state());
    assertEquals(143, ended.exit().orElseThrow().exitCode());
    BoxView stopped = jailer.stop("keeps", Duration.ofSeconds(5));
    assertEquals(BoxState.EXITED, stopped.state());
    assertNotEquals(0, stopped.exit().orElseThrow().exitCode());
  }

  @Test
  void spawn_uidRange_eachBoxGetsItsOwnUidFromTheRange() throws Exception {
    JailerConfig ranged = config(BoxUsers.range(61000, 61009), JailerConfig.DEFAULT_LIMITS, false);
    replaceJailer(ranged, new LinuxSpawner(ranged, CgroupHost.detect()));
    stage("first", "probe");
    stage("second", "probe");

    long a = jailer.spawn("first", options("sleep"), () -> false).pid().orElseThrow().pid();
    long b = jailer.spawn("second", options("sleep"), () -> false).pid().orElseThrow().pid();

    int uidA = (Integer) Files.getAttribute(Path.of("/proc/" + a), "unix:uid");
    int uidB = (Integer) Files.getAttribute(Path.of("/proc/" + b), "unix:uid");
    assertTrue(uidA >= 61000 && uidA <= 61009, "uid " + uidA);
    assertTrue(uidB >= 61000 && uidB <= 61009, "uid " + uidB);
    assertNotEquals(uidA, uidB);
    assertEquals(uidA, jailer.inspect("first").spawn().orElseThrow().uid());
    assertEquals(uidA,
        Files.getAttribute(jailer.inspect("first").layout().tmp(), "unix:uid"));
  }

  @Test
  void spawn_ociProfileFromAllowedDirectory_appliesItsErrnoRule() throws Exception {
    Path profile = root.resolve("seccomp/no-uname.json");
    Files.writeString(profile, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
        + "{\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}");
    stage("oci", "probe");

    jailer.spawn("oci", new SpawnOptions(ImmutableList.of("uname"), ImmutableMap.of(), false,
        NO_REQUEST, null, profile.toString()), () -> false);
    BoxView box = awaitExit("oci");

    assertEquals("uname: -1 errno 42\n", stdout(box));
    assertEquals(profile.toString(), box.spawn().orElseThrow().seccompProfile());
  }

  @Test
  void spawn_seccompFileOutsideAllowedDirectories_permissionDenied() throws Exception {
    Path profile = Files.writeString(root.resolve("elsewhere.json"),
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
    stage("rogue-profile", "probe");

    JailerException e = assertThrows(JailerException.class, () -> jailer.spawn("rogue-profile",
        new SpawnOptions(ImmutableList.of(), ImmutableMap.of(), false, NO_REQUEST, null,
            profile.toString()), () -> false));

    assertEquals(JailerException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("seccomp.file", e.violations().get(0).field());
  }

  @Test
  void spawn_notifyActionInProfile_invalidArgument() throws Exception {
    Path profile = root.resolve("seccomp/notify.json");
    Files.writeString(profile, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
        + "{\"names\": [\"uname\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
    stage("notify", "probe");

    JailerException e = assertThrows(JailerException.class, () -> jailer.spawn("notify",
        new SpawnOptions(ImmutableList.of(), ImmutableMap.of(), false, NO_REQUEST, null,
            profile.toString()), () -> false));

    assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals(BoxState.STAGED, jailer.inspect("notify").state());
  }

  @Test
  void spawn_rlimits_inForceInsideAndCoreDumpsOffByDefault() throws Exception {
    stage("limits", "probe");
    SpawnOptions limits = new SpawnOptions(ImmutableList.of("limits"), ImmutableMap.of(), false,
        new Limits(0, 0, 0, 77, 1 << 20, 3600, 0, 0), "", null);

    jailer.spawn("limits", limits, () -> false);
    BoxView box = awaitExit("limits");

    String out = stdout(box);
    assertTrue(out.matches("(?s).*Max open files\\s+77\\s+77 .*"), out);
    assertTrue(out.matches("(?s).*Max file size\\s+1048576\\s+1048576 .*"), out);
    assertTrue(out.matches("(?s).*Max cpu time\\s+3600\\s+3600 .*"), out);
    assertTrue(out.matches("(?s).*Max core file size\\s+0\\s+0 .*"), out);
    assertTrue(out.matches("(?s).*Max address space\\s+unlimited\\s+unlimited .*"), out);
  }

  @Test
  void stop_exitedBox_isANoOp() throws Exception {
    BoxView exited = run("done", options("exit", "4"));

    BoxView again = jailer.stop("done", Duration.ofSeconds(1));

    assertEquals(exited.exit(), again.exit());
  }

  @Test
  void preflight_missingCgroupController_notServingReasonAndSpawnRefused() throws Exception {
    JailerConfig config = config(BoxUsers.fixed("nobody"), JailerConfig.DEFAULT_LIMITS, false);
    CgroupHost noControllers = CgroupHost.fromMountInfo("", root.resolve("no-cgroups"));
    replaceJailer(config, new LinuxSpawner(config, noControllers));
    stage("closed", "probe");

    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("closed", options("hello"), () -> false));

    assertTrue(jailer.sandboxProblem().orElseThrow().contains("memory"),
        jailer.sandboxProblem().toString());
    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("memory"), e.getMessage());
    assertEquals(BoxState.STAGED, jailer.inspect("closed").state());
  }

  @Test
  void development_spawnsWithoutSandboxAndSaysSo() throws Exception {
    JailerConfig config = config(BoxUsers.fixed("nobody"), JailerConfig.DEFAULT_LIMITS, true);
    replaceJailer(config, dev.jailer.core.sandbox.Spawners.forHost(config));

    BoxView box = run("dev", options("hello"));

    assertEquals("none", box.spawn().orElseThrow().sandbox());
    assertEquals("hello from the box\n", stdout(box));
  }

  @Test
  void spawn_runningBoxes_areNotServerChildrenAndCostNoThreadEach() throws Exception {
    for (int i = 0; i < 10; i++) {
      stage("quiet-" + i, "probe");
    }
    jailer.spawn("quiet-0", options("sleep"), () -> false);
    Thread.sleep(200);
    int threadsWithOne = Thread.activeCount();

    for (int i = 1; i < 10; i++) {
      jailer.spawn("quiet-" + i, options("sleep"), () -> false);
    }
    Thread.sleep(200);

    assertTrue(Thread.activeCount() - threadsWithOne < 5,
        "threads grew from " + threadsWithOne + " to " + Thread.activeCount());
    assertEquals(0, ProcessHandle.current().children().count());
    jailer.stop("quiet-3", Duration.ofSeconds(5));
    assertEquals(143, jailer.inspect("quiet-3").exit().orElseThrow().exitCode());
  }

  /** Paths of a box by id, read through Inspect. */
  private static final class BoxLayoutFiles {
    static Path bin(Jailer jailer, String boxId) {
      return jailer.inspect(boxId).layout().bin();
    }

    static Path logs(Jailer jailer, String boxId) {
      return jailer.inspect(boxId).layout().logs();
    }
  }
}
