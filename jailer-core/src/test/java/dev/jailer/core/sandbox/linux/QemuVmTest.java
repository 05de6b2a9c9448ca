package dev.jailer.core.sandbox.linux;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.BoxUsers;
import dev.jailer.core.Jailer;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.Limits;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.core.nativeaccess.NativeAccess;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.stage.VolumeSpec;
import dev.jailer.core.testing.Gcc;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.core.testing.TestCgroups;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots a real virtual machine under the jailer: Debian's QEMU, staged as the shim, runs a Debian
 * kernel with a busybox initramfs inside bubblewrap, the default seccomp profile, a cgroup with
 * a memory limit and an unprivileged user, with networking off.
 *
 * <p>The guest runs under QEMU's software emulation (TCG): nested KVM on the build machines
 * opens and creates VMs but does not run guests. That /dev/kvm reaches the shim is shown
 * separately, by a probe that opens it inside the sandbox.
 */
class QemuVmTest {
  private static final Logger logger = Logger.getLogger(QemuVmTest.class.getName());

  private static final Path QEMU = Path.of("/usr/bin/qemu-system-x86_64");
  // A staged copy of QEMU looks for its modules and firmware next to its own path (QEMU
  // relocates its install paths to where the binary is), so the test names the real ones.
  private static final Path QEMU_MODULES = Path.of("/usr/lib/x86_64-linux-gnu/qemu");
  private static final List<Path> FIRMWARE =
      List.of(Path.of("/usr/share/qemu"), Path.of("/usr/share/seabios"));
  private static final Path BUSYBOX = Path.of("/bin/busybox");
  private static final Path KVM = Path.of("/dev/kvm");
  private static final String MARKER = "JAILER-VM-OK";
  private static final String BEFORE_FILL = "filling guest memory";
  // The guest writes this much into its RAM-backed root file system (which holds up to half of
  // its 256 MiB), so that many guest pages are certainly touched and must show up in the box's
  // cgroup.
  private static final int GUEST_FILL_MIB = 96;
  private static final long MEMORY_LIMIT = 512L << 20;
  private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(90);
  private static final Limits NO_REQUEST = new Limits(0, 0, 0, 0, 0, 0, 0, 0);

  @TempDir static Path shared;
  static Path probeDir;
  static Path kernel;

  @TempDir Path tmp;
  private Path root;
  private Path vmDir;
  private String cgroupParent;
  private Jailer jailer;

  @BeforeAll
  static void findVmParts() throws Exception {
    Prerequisites.require(Files.isExecutable(QEMU),
        "QEMU at " + QEMU + " (apt-get install qemu-system-x86)");
    Prerequisites.require(Files.isDirectory(QEMU_MODULES),
        "QEMU's modules in " + QEMU_MODULES + " (apt-get install qemu-system-x86)");
    kernel = cloudKernel().orElse(null);
    Prerequisites.require(kernel != null,
        "a Debian cloud kernel /boot/vmlinuz-*-cloud-amd64"
            + " (apt-get install linux-image-cloud-amd64)");
    Prerequisites.require(Files.isExecutable(BUSYBOX) && isStatic(BUSYBOX),
        "a statically linked busybox at " + BUSYBOX + " (apt-get install busybox-static)");
    Prerequisites.require(Gcc.isAvailable(), "gcc (apt-get install gcc)");
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path src = Files.createDirectories(shared.resolve("src"));
    probeDir = Files.createDirectories(shared.resolve("opt/probe"));
    Path kvmProbe = Gcc.resource(QemuVmTest.class, "kvmprobe.c", src);
    Gcc.run("-O1", "-o", probeDir.resolve("kvmprobe").toString(), kvmProbe.toString());
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
    Path volumes = Files.createDirectories(root.resolve("volumes"));
    vmDir = Files.createDirectories(volumes.resolve("vm"));
    for (Path dir : List.of(volumes, vmDir)) {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    cgroupParent = TestCgroups.newParent();
    JailerConfig config =
        new JailerConfig(
            root.resolve("state"),
            Platform.LINUX,
            ImmutableList.of(QEMU.getParent(), probeDir),
            ImmutableList.of(volumes),
            ImmutableList.of(),
            cgroupParent,
            BoxUsers.fixed("nobody"),
            JailerConfig.DEFAULT_LIMITS,
            Duration.ofSeconds(2),
            false);
    jailer = new Jailer(config, new LinuxSpawner(config, CgroupHost.detect()));
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

  @Test
  void spawn_qemuBootingDebianKernel_exitsCleanlyWithMarkerAndGuestMemoryInCgroup()
      throws Exception {
    Path guestKernel = vmDir.resolve("vmlinuz");
    // Debian ships some kernels readable by root only; the box user must be able to read it.
    Files.copy(kernel, guestKernel);
    Files.setPosixFilePermissions(guestKernel, PosixFilePermissions.fromString("rw-r--r--"));
    Path initramfs = vmDir.resolve("initramfs.cpio");
    Files.write(initramfs, initramfs());
    Files.setPosixFilePermissions(initramfs, PosixFilePermissions.fromString("rw-r--r--"));
    BoxView staged = jailer.stage("vm", QEMU.toString(),
        List.of(new VolumeSpec(vmDir.toString(), "/vm", true)));
    Path boxDir = staged.layout().bin().getParent();
    Path consoleLog = staged.layout().logs().resolve("console.log");
    Map<Path, String> before = snapshot(root);

    long started = System.nanoTime();
    BoxView running =
        jailer.spawn("vm", qemuOptions(guestKernel, initramfs, consoleLog), () -> false);
    awaitOutput(running, BEFORE_FILL);
    long beforeFill = jailer.inspect("vm").usage().memoryCurrentBytes();
    awaitOutput(running, "filled ");
    long afterFill = jailer.inspect("vm").usage().memoryCurrentBytes();
    BoxView box = awaitExit("vm");
    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);

    ExitRecord exit = box.exit().orElseThrow();
    String stdout = Files.readString(box.layout().stdoutLog());
    String stderr = Files.readString(box.layout().stderrLog());
    String diagnostics = exit + "\nstdout:\n" + tail(stdout) + "\nstderr:\n" + tail(stderr);
    logger.info(String.format("QEMU under the jailer: spawned, booted, ran and powered off in"
        + " %d ms; box memory %d MiB before the guest's fill, %d MiB after, peak %d MiB; CPU %d ms",
        elapsed.toMillis(), beforeFill >> 20, afterFill >> 20,
        exit.usage().memoryPeakBytes() >> 20, exit.usage().cpuUsageMicros() / 1000));
    assertEquals(0, exit.exitCode(), diagnostics);
    SpawnRecord spawn = box.spawn().orElseThrow();
    assertEquals("default", spawn.seccompProfile());
    assertFalse(spawn.network());
    assertTrue(spawn.commandLine().contains("--unshare-net"), spawn.commandLine().toString());
    assertEquals(MEMORY_LIMIT, spawn.limits().memoryBytes());
    assertTrue(spawn.envNames().contains("QEMU_MODULE_DIR"), spawn.envNames().toString());
    String release = kernel.getFileName().toString().substring("vmlinuz-".length());
    String console = Files.readString(consoleLog);
    // The guest prints its own kernel release: the marker comes from the booted kernel's
    // userspace, not from anything on the host.
    assertTrue(console.contains(MARKER + " " + release), console);
    assertTrue(console.contains("filled " + GUEST_FILL_MIB + " MiB"), console);
    assertTrue(stdout.contains(MARKER + " " + release), diagnostics);
    assertFalse(stderr.contains("qemu-system-x86_64:"), diagnostics);
    // Pages the guest writes are QEMU's pages, so the box's cgroup must grow with them. A third
    // of the fill is the bound: the guest kernel reuses pages it touched and freed while booting
    // (its decompression buffers), so only part of the fill lands on fresh pages; measured
    // growth was 60 to 70 MiB for 96 MiB. Without the accounting it would be about nothing.
    assertTrue(afterFill - beforeFill >= ((long) GUEST_FILL_MIB << 20) / 3,
        "box memory before the guest's fill " + beforeFill + ", after " + afterFill);
    long peak = exit.usage().memoryPeakBytes();
    assertTrue(peak >= afterFill, "memory peak " + peak + " below a sample " + afterFill);
    assertTrue(peak <= MEMORY_LIMIT, "memory peak " + peak);
    assertFalse(exit.oomKilled(), diagnostics);
    List<String> outside = changedOutside(before, snapshot(root), boxDir);
    assertEquals(List.of(), outside, "written outside the box directory " + boxDir);
  }

  @Test
  void spawn_kvmDevicePresent_shimOpensItThroughTheDeviceGroup() throws Exception {
    Prerequisites.requireHostFeature(Files.exists(KVM), "/dev/kvm");
    makeKvmGroupAccessible();
    jailer.stage("kvm", probeDir.resolve("kvmprobe").toString(), List.of());
    jailer.spawn("kvm", new SpawnOptions(ImmutableList.of(), ImmutableMap.of(), false,
        NO_REQUEST, "", null), () -> false);
    BoxView box = awaitExit("kvm");

    String stdout = Files.readString(box.layout().stdoutLog());
    List<String> command = box.spawn().orElseThrow().commandLine();
    int bind = command.indexOf("--dev-bind");
    assertTrue(bind >= 0 && command.get(bind + 1).equals(KVM.toString()), command.toString());
    assertEquals(0, box.exit().orElseThrow().exitCode(), stdout);
    assertTrue(stdout.contains("opened /dev/kvm"), stdout);
    assertTrue(stdout.contains("api version 12"), stdout);
  }

  private static SpawnOptions qemuOptions(Path guestKernel, Path initramfs, Path consoleLog) {
    ImmutableList.Builder<String> args = ImmutableList.builder();
    for (Path firmware : FIRMWARE) {
      args.add("-L", firmware.toString());
    }
    // q35 rather than microvm: under TCG here, microvm's guest hung at TSC calibration (no PIT
    // or HPET to calibrate against) in two boots of three; q35 booted every time in about 3 s.
    args.add("-M", "q35", "-accel", "tcg", "-m", "256", "-smp", "1");
    args.add("-nodefaults", "-no-user-config", "-display", "none", "-no-reboot");
    // The serial console goes to QEMU's stdout (the box's captured stdout, which Inspect shows)
    // and, through the chardev's log file, to logs/console.log.
    args.add("-chardev", "stdio,id=console,signal=off,logfile=" + consoleLog);
    args.add("-serial", "chardev:console");
    args.add("-kernel", guestKernel.toString(), "-initrd", initramfs.toString());
    args.add("-append", "console=ttyS0 quiet panic=-1");
    return new SpawnOptions(args.build(),
        ImmutableMap.of("QEMU_MODULE_DIR", QEMU_MODULES.toString()), false,
        new Limits(MEMORY_LIMIT, 0, 0, 0, 0, 0, 0, 0), "", null);
  }

  /**
   * A cpio "newc" archive of busybox and an init that prints the marker with the guest's kernel
   * release, fills guest RAM, and powers the machine off.
   */
  private static byte[] initramfs() throws IOException {
    // The pauses give the test time to read the box's memory before and after the fill.
    String init = String.join("\n",
        "#!/bin/busybox sh",
        "/bin/busybox mount -t devtmpfs dev /dev",
        "/bin/busybox echo \"" + MARKER + " $(/bin/busybox uname -r)\"",
        "/bin/busybox echo " + BEFORE_FILL,
        "/bin/busybox sleep 1",
        "/bin/busybox dd if=/dev/zero of=/fill bs=1M count=" + GUEST_FILL_MIB + " 2>/dev/null",
        "/bin/busybox echo \"filled $(($(/bin/busybox stat -c %s /fill) >> 20)) MiB\"",
        "/bin/busybox sleep 1",
        "/bin/busybox poweroff -f",
        "");
    Newc cpio = new Newc();
    cpio.directory("bin");
    cpio.directory("dev");
    cpio.file("bin/busybox", 0755, Files.readAllBytes(BUSYBOX));
    cpio.file("init", 0755, init.getBytes(StandardCharsets.UTF_8));
    return cpio.finish();
  }

  private static void awaitOutput(BoxView box, String text) throws Exception {
    long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
    while (!Files.readString(box.layout().stdoutLog()).contains(text)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no \"" + text + "\" on the console of " + box.boxId()
            + " within " + BOOT_TIMEOUT + ":\n" + tail(Files.readString(box.layout()
            .stdoutLog())) + tail(Files.readString(box.layout().stderrLog())));
      }
      Thread.sleep(20);
    }
  }

  private BoxView awaitExit(String boxId) throws InterruptedException {
    long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      BoxView view = jailer.inspect(boxId);
      if (view.state() == BoxState.EXITED) {
        return view;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("box " + boxId + " did not exit within " + BOOT_TIMEOUT);
  }

  // What a Debian host with udev has: the kvm group owns /dev/kvm with mode 0660. The spawner
  // gives the shim that group; a device only root may open stays closed to the box.
  private static void makeKvmGroupAccessible() throws Exception {
    int mode = (Integer) Files.getAttribute(KVM, "unix:mode");
    int gid = (Integer) Files.getAttribute(KVM, "unix:gid");
    if ((mode & 0060) == 0060 && gid != 0) {
      return;
    }
    for (List<String> command : List.of(List.of("groupadd", "-f", "kvm"),
        List.of("chgrp", "kvm", KVM.toString()), List.of("chmod", "0660", KVM.toString()))) {
      Process process = new ProcessBuilder(command).inheritIO().start();
      assertEquals(0, process.waitFor(), String.join(" ", command));
    }
  }

  private static Optional<Path> cloudKernel() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("/boot"))) {
      return files
          .filter(p -> p.getFileName().toString().matches("vmlinuz-.*-cloud-amd64"))
          .max(Path::compareTo);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /** Whether an ELF executable has no program interpreter, so it runs in an empty initramfs. */
  private static boolean isStatic(Path elf) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(elf)).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.limit() < 64 || bytes.getInt(0) != 0x464c457f || bytes.get(4) != 2) {
      return false;
    }
    long phoff = bytes.getLong(0x20);
    int phentsize = Short.toUnsignedInt(bytes.getShort(0x36));
    int phnum = Short.toUnsignedInt(bytes.getShort(0x38));
    for (int i = 0; i < phnum; i++) {
      if (bytes.getInt((int) (phoff + (long) i * phentsize)) == 3) { // PT_INTERP
        return false;
      }
    }
    return true;
  }

  /** Size and modification time of every entry below {@code dir}, without following links. */
  private static Map<Path, String> snapshot(Path dir) throws IOException {
    Map<Path, String> entries = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path path : (Iterable<Path>) walk::iterator) {
        BasicFileAttributes attributes =
            Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        entries.put(path, attributes.size() + "@" + attributes.lastModifiedTime().toMillis());
      }
    }
    return entries;
  }

  private static List<String> changedOutside(
      Map<Path, String> before, Map<Path, String> after, Path boxDir) {
    List<String> changed = new ArrayList<>();
    for (Path path : after.keySet()) {
      if (!path.startsWith(boxDir) && !after.get(path).equals(before.get(path))) {
        changed.add((before.containsKey(path) ? "changed " : "created ") + path);
      }
    }
    for (Path path : before.keySet()) {
      if (!path.startsWith(boxDir) && !after.containsKey(path)) {
        changed.add("removed " + path);
      }
    }
    return changed;
  }

  private static String tail(String text) {
    return text.length() <= 4000 ? text : "..." + text.substring(text.length() - 4000);
  }

  /** Writes the portable "newc" cpio format that the kernel unpacks as an initramfs. */
  private static final class Newc {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int inode = 1;

    void directory(String name) {
      entry(name, 0040755, new byte[0]);
    }

    void file(String name, int permissions, byte[] data) {
      entry(name, 0100000 | permissions, data);
    }

    byte[] finish() {
      entry("TRAILER!!!", 0, new byte[0]);
      return out.toByteArray();
    }

    private void entry(String name, int mode, byte[] data) {
      byte[] nameBytes = (name + "\0").getBytes(US_ASCII);
      // Fields: inode, mode, uid, gid, nlink, mtime, size, dev major/minor, rdev major/minor,
      // name size, checksum (unused by newc).
      long[] fields = {name.equals("TRAILER!!!") ? 0 : inode++, mode, 0, 0,
          (mode & 0040000) != 0 ? 2 : 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0};
      StringBuilder header = new StringBuilder("070701");
      for (long field : fields) {
        header.append(String.format("%08x", field));
      }
      out.writeBytes(header.toString().getBytes(US_ASCII));
      out.writeBytes(nameBytes);
      pad();
      out.writeBytes(data);
      pad();
    }

    private void pad() {
      while (out.size() % 4 != 0) {
        out.write(0);
      }
    }
  }
}
