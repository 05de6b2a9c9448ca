package dev.jailer.server;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.protobuf.ByteString;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.Limits;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.stage.StagedEntry;
import dev.jailer.core.stage.VolumeSpec;
import dev.jailer.v1.Access;
import dev.jailer.v1.Box;
import dev.jailer.v1.LogFile;
import dev.jailer.v1.ResourceLimits;
import dev.jailer.v1.SandboxKind;
import dev.jailer.v1.SeccompChoice;
import dev.jailer.v1.SpawnRequest;
import dev.jailer.v1.StagedFile;
import dev.jailer.v1.Usage;
import dev.jailer.v1.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** Translation between the v1 messages and the core's types. Pure and stateless. */
final class BoxProtos {
  /** The most log bytes one Inspect returns per stream, whatever the caller asks. */
  static final int MAX_LOG_TAIL_BYTES = 1 << 20;

  private BoxProtos() {}

  static List<VolumeSpec> volumes(List<Volume> volumes) {
    return volumes.stream()
        .map(v -> new VolumeSpec(v.getHostPath(), v.getGuestPath(), v.getReadOnly()))
        .collect(ImmutableList.toImmutableList());
  }

  static SpawnOptions spawnOptions(SpawnRequest request) {
    ResourceLimits l = request.getLimits();
    long core = l.getCoreDumpsEnabled() ? l.getMaxCoreBytes() : 0;
    Limits limits =
        new Limits(
            l.getMemoryBytes(),
            l.getCpuMillis(),
            l.getMaxPids(),
            l.getMaxOpenFiles(),
            l.getMaxFileSizeBytes(),
            l.getMaxCpuSeconds(),
            l.getMaxAddressSpaceBytes(),
            core);
    SeccompChoice seccomp = request.getSeccomp();
    String file = seccomp.hasFile() ? seccomp.getFile() : null;
    String builtin = seccomp.hasFile() ? null : seccomp.getBuiltin();
    return new SpawnOptions(
        ImmutableList.copyOf(request.getArgsList()),
        ImmutableMap.copyOf(request.getEnvMap()),
        request.getNetwork(),
        limits,
        builtin,
        file);
  }

  /** The box as the contract describes it; log tails only when {@code logTailBytes > 0}. */
  static Box box(BoxView view, long logTailBytes, String sandboxProfile) {
    Box.Builder box =
        Box.newBuilder()
            .setBoxId(view.boxId())
            .setState(state(view.state()))
            .setBoxDir(view.layout().dir().toString())
            .setStatusMessage(view.statusMessage());
    view.stage().ifPresent(stage -> {
      box.setShimPath(stage.shimPath());
      for (StagedEntry file : stage.files()) {
        box.addStagedFiles(
            StagedFile.newBuilder()
                .setName(file.name())
                .setSizeBytes(file.sizeBytes())
                .setSha256(file.sha256())
                .setLinkTarget(file.linkTarget())
                .setCopied(file.copied()));
      }
      for (VolumeSpec volume : stage.volumes()) {
        box.addVolumes(
            Volume.newBuilder()
                .setHostPath(volume.hostPath())
                .setGuestPath(volume.guestPath())
                .setReadOnly(volume.readOnly()));
      }
    });
    for (PathGrant grant : view.grants()) {
      box.addGrants(
          dev.jailer.v1.PathGrant.newBuilder()
              .setPath(grant.path().toString())
              .setAccess(
                  grant.access() == dev.jailer.core.sandbox.Access.READ_ONLY
                      ? Access.ACCESS_READ_ONLY
                      : Access.ACCESS_READ_WRITE)
              .setReason(grant.reason()));
    }
    view.spawn().ifPresent(spawn -> spawnFields(box, spawn));
    view.pid().ifPresent(pid -> {
      box.setPid((int) pid.pid());
      box.setStartedAtMillis(pid.startedAtMillis());
    });
    view.exit().ifPresent(exit -> exitFields(box, exit));
    box.setUsage(
        Usage.newBuilder()
            .setMemoryCurrentBytes(view.usage().memoryCurrentBytes())
            .setMemoryPeakBytes(view.usage().memoryPeakBytes())
            .setPidsCurrent(view.usage().pidsCurrent())
            .setCpuUsageMicros(view.usage().cpuUsageMicros()));
    if (view.spawn().isPresent()) {
      long tail = Math.min(Math.max(logTailBytes, 0), MAX_LOG_TAIL_BYTES);
      box.setStdoutLog(logFile(view.layout().stdoutLog(), tail));
      box.setStderrLog(logFile(view.layout().stderrLog(), tail));
    }
    box.setSandboxProfile(sandboxProfile);
    return box.build();
  }

  private static void spawnFields(Box.Builder box, SpawnRecord spawn) {
    box.setSandbox(sandboxKind(spawn.sandbox()))
        .addAllCommandLine(spawn.commandLine())
        .setSeccompProfile(spawn.seccompProfile())
        .setNetwork(spawn.network())
        .addAllUnenforcedLimits(spawn.unenforcedLimits());
    Limits l = spawn.limits();
    box.setLimits(
        ResourceLimits.newBuilder()
            .setMemoryBytes(l.memoryBytes())
            .setCpuMillis(l.cpuMillis())
            .setMaxPids(l.maxPids())
            .setMaxOpenFiles(l.maxOpenFiles())
            .setMaxFileSizeBytes(l.maxFileSizeBytes())
            .setMaxCpuSeconds(l.maxCpuSeconds())
            .setMaxAddressSpaceBytes(l.maxAddressSpaceBytes())
            .setMaxCoreBytes(l.maxCoreBytes())
            .setCoreDumpsEnabled(l.maxCoreBytes() > 0));
    box.setStartedAtMillis(spawn.spawnedAtMillis());
  }

  private static void exitFields(Box.Builder box, ExitRecord exit) {
    box.setExitCode(exit.exitCode())
        .setExitSignal(exit.exitSignal())
        .setOomKilled(exit.oomKilled())
        .setEndedAtMillis(exit.endedAtMillis());
  }

  static SandboxKind sandboxKind(String kind) {
    return switch (kind) {
      case "bubblewrap" -> SandboxKind.SANDBOX_KIND_BUBBLEWRAP;
      case "seatbelt" -> SandboxKind.SANDBOX_KIND_SEATBELT;
      case "none" -> SandboxKind.SANDBOX_KIND_NONE;
      default -> SandboxKind.SANDBOX_KIND_UNSPECIFIED;
    };
  }

  static dev.jailer.v1.BoxState state(BoxState state) {
    return switch (state) {
      case STAGED -> dev.jailer.v1.BoxState.BOX_STATE_STAGED;
      case RUNNING -> dev.jailer.v1.BoxState.BOX_STATE_RUNNING;
      case EXITED -> dev.jailer.v1.BoxState.BOX_STATE_EXITED;
    };
  }

  static BoxState coreState(dev.jailer.v1.BoxState state) {
    return switch (state) {
      case BOX_STATE_STAGED -> BoxState.STAGED;
      case BOX_STATE_RUNNING -> BoxState.RUNNING;
      case BOX_STATE_EXITED -> BoxState.EXITED;
      default -> null;
    };
  }

  private static LogFile logFile(Path path, long tailBytes) {
    LogFile.Builder log = LogFile.newBuilder().setPath(path.toString());
    // The log lives in jailer/, which no sandbox sees; NOFOLLOW_LINKS is a second guard.
    try (FileChannel channel =
        FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = channel.size();
      log.setSizeBytes(size);
      if (tailBytes > 0 && size > 0) {
        int length = (int) Math.min(size, tailBytes);
        ByteBuffer buffer = ByteBuffer.allocate(length);
        long position = size - length;
        while (buffer.hasRemaining()) {
          int read = channel.read(buffer, position + buffer.position());
          if (read < 0) {
            break;
          }
        }
        buffer.flip();
        log.setTail(ByteString.copyFrom(buffer));
      }
    } catch (NoSuchFileException e) {
      // Not written yet: size 0.
    } catch (IOException e) {
      // A log that cannot be read must not fail Inspect; its size stays 0.
    }
    return log.build();
  }
}
