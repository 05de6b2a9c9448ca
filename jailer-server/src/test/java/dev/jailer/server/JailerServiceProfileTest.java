package dev.jailer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.BoxUsers;
import dev.jailer.core.Jailer;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.JailerException;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.Limits;
import dev.jailer.core.sandbox.macos.SeatbeltSpawner;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.testing.Prerequisites;
import dev.jailer.v1.InspectRequest;
import dev.jailer.v1.InspectResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inspect's include_profile returns the Seatbelt profile the spawner wrote for the box. */
class JailerServiceProfileTest {
  @TempDir Path tmp;

  private static InspectResponse inspect(JailerService service, InspectRequest request) {
    List<InspectResponse> responses = new ArrayList<>();
    List<Throwable> errors = new ArrayList<>();
    service.inspect(request, new StreamObserver<>() {
      @Override
      public void onNext(InspectResponse value) {
        responses.add(value);
      }

      @Override
      public void onError(Throwable t) {
        errors.add(t);
      }

      @Override
      public void onCompleted() {}
    });
    assertEquals(List.of(), errors);
    return responses.get(0);
  }

  @Test
  void inspect_includeProfileAfterSeatbeltSpawn_returnsWrittenProfile() throws Exception {
    // Off macOS the spawn is refused after the profile is written, which is all this needs.
    Prerequisites.requireHostFeature(
        !Files.exists(Path.of("/usr/bin/sandbox-exec")), "a host without sandbox-exec");
    Path shimDir = Files.createDirectories(tmp.resolve("opt/krun"));
    Path shim = Files.writeString(shimDir.resolve("krun-shim"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(shim, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(shimDir.resolve("libkrunfw.5.dylib"), "krunfw");
    JailerConfig config =
        new JailerConfig(tmp.resolve("state"), Platform.MACOS, ImmutableList.of(shimDir),
            ImmutableList.of(), ImmutableList.of(), "jailer-test", BoxUsers.fixed("nobody"),
            JailerConfig.DEFAULT_LIMITS, Duration.ofSeconds(5), false);
    try (Jailer jailer = new Jailer(config, new SeatbeltSpawner(config))) {
      BoxView staged = jailer.stage("b1", shim.toString(), List.of());
      SpawnOptions options = new SpawnOptions(ImmutableList.of(), ImmutableMap.of(), false,
          new Limits(0, 0, 0, 0, 0, 0, 0, 0), "", null);
      assertThrows(JailerException.class, () -> jailer.spawn("b1", options, () -> false));
      JailerService service = new JailerService(jailer);

      InspectResponse with = inspect(service,
          InspectRequest.newBuilder().setBoxId("b1").setIncludeProfile(true).build());
      InspectResponse without = inspect(service,
          InspectRequest.newBuilder().setBoxId("b1").build());

      String written = Files.readString(SeatbeltSpawner.profileFile(staged.layout()));
      assertTrue(written.startsWith("(version 1)"), written);
      assertEquals(written, with.getBox().getSandboxProfile());
      assertEquals("", without.getBox().getSandboxProfile());
    }
  }
}
