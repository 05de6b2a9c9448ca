package dev.jailer.bench;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.box.BoxGrants;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.nativeaccess.NativeAccess;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.sandbox.linux.BwrapCommand;
import dev.jailer.core.sandbox.macos.SeatbeltProfile;
import dev.jailer.core.seccomp.SeccompCompiler;
import dev.jailer.core.seccomp.SeccompProfile;
import dev.jailer.core.seccomp.SeccompProfiles;
import dev.jailer.core.stage.StageRecord;
import dev.jailer.core.stage.StagedEntry;
import dev.jailer.core.stage.VolumeSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * In-process costs that every Spawn pays before a process starts: computing a box's path grants,
 * turning them into bubblewrap's argv or a macOS Seatbelt profile, and compiling the seccomp
 * filter through libseccomp. Run by {@code scripts/bench}; the counts below keep the whole run
 * short on a small machine and are overridden there only through JMH's own flags.
 *
 * <p>Fails (JMH reports the exception) when libseccomp.so.2 cannot be loaded.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(3)
@State(Scope.Benchmark)
public class MicroBenchmarks {
  private BoxLayout layout;
  private StageRecord stage;
  private ImmutableList<PathGrant> grants;
  private List<Path> masked;
  private Path shim;
  private BwrapCommand.Input bwrapInput;
  private SeccompCompiler compiler;
  private SeccompProfile profile;

  /** Builds a realistic box: a state directory, a shim with libkrunfw, two volumes. */
  @Setup
  public void setUp() {
    layout = BoxLayout.of(Path.of("/var/lib/jailer"), "bench-box-0001");
    Path shimDir = Path.of("/opt/boxlite/bin");
    shim = layout.bin().resolve("boxlite-shim");
    String sha = "0".repeat(64);
    stage =
        new StageRecord(
            shimDir.resolve("boxlite-shim").toString(),
            shimDir.resolve("boxlite-shim").toString(),
            shimDir.toString(),
            "boxlite-shim",
            List.of(
                new VolumeSpec("/srv/images/alpine", "/images", true),
                new VolumeSpec("/srv/data/bench-box-0001", "/data", false)),
            List.of(
                new StagedEntry("boxlite-shim", 10 << 20, sha, "", "a", "b", true),
                new StagedEntry("libkrunfw.so.5.2.1", 24 << 20, sha, "", "c", "d", true),
                new StagedEntry("libkrunfw.so.5", 24 << 20, sha, "libkrunfw.so.5.2.1",
                    "libkrunfw.so.5.2.1", "libkrunfw.so.5.2.1", true),
                new StagedEntry("libkrunfw.so", 24 << 20, sha, "libkrunfw.so.5",
                    "libkrunfw.so.5", "libkrunfw.so.5", true)),
            Map.of("libkrun.so.1", "1:2:3:4"),
            0);
    grants = BoxGrants.of(layout, stage);
    masked = List.of(shimDir.resolve("libkrunfw.so.5.2.1"));
    bwrapInput =
        new BwrapCommand.Input(
            Path.of("/usr/bin/bwrap"),
            List.of(
                new BwrapCommand.SystemDir("/usr", null),
                new BwrapCommand.SystemDir("/lib", "usr/lib"),
                new BwrapCommand.SystemDir("/lib64", "usr/lib64"),
                new BwrapCommand.SystemDir("/bin", "usr/bin"),
                new BwrapCommand.SystemDir("/sbin", "usr/sbin")),
            grants,
            masked,
            List.of(Path.of("/dev/kvm")),
            false,
            List.of(Path.of("/etc/resolv.conf"), Path.of("/etc/hosts")),
            ImmutableMap.of(
                "PATH", BwrapCommand.SANDBOX_PATH,
                "HOME", layout.tmp().toString(),
                "TMPDIR", layout.tmp().toString(),
                "LD_LIBRARY_PATH", layout.bin() + ":" + shimDir,
                "RUST_LOG", "info"),
            shim,
            List.of("--config", layout.shared().resolve("vm.json").toString()));
    compiler = NativeAccess.seccompCompiler();
    profile = SeccompProfiles.builtin(SeccompProfiles.DEFAULT);
  }

  /** The grants of a staged box with two volumes (what Stage and every restart compute). */
  @Benchmark
  public ImmutableList<PathGrant> pathGrants() {
    return BoxGrants.of(layout, stage);
  }

  /** bubblewrap's full argv for that box. */
  @Benchmark
  public ImmutableList<String> bwrapArgv() {
    return BwrapCommand.argv(bwrapInput);
  }

  /** The macOS Seatbelt profile and its parameters for that box. */
  @Benchmark
  public SeatbeltProfile seatbeltProfile() {
    return SeatbeltProfile.generate(grants, masked, false, shim);
  }

  /** The built-in seccomp profile compiled to BPF through libseccomp (done on every Spawn). */
  @Benchmark
  public byte[] seccompCompile() {
    return compiler.compileBpf(profile);
  }
}
