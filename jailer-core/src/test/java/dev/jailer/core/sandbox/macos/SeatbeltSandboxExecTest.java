package dev.jailer.core.sandbox.macos;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.Platform;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.testing.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real {@code /usr/bin/sandbox-exec} with a generated profile. Only macOS has it, so this
 * is the one kind of test that skips on Linux, in CI too.
 */
class SeatbeltSandboxExecTest {
  /** A platform binary that reads what it is told to; it stands in for the shim. */
  private static final Path CAT = Path.of("/bin/cat");

  @TempDir Path dir;

  @BeforeEach
  void requireMacOs() {
    Prerequisites.requireHostFeature(
        Platform.current() == Platform.MACOS, "/usr/bin/sandbox-exec exists only on macOS");
  }

  private record Result(int exit, String stdout, String stderr) {}

  private static Result run(SeatbeltProfile profile, String argument)
      throws IOException, InterruptedException {
    SeatbeltCommand command =
        SeatbeltCommand.of(profile, List.of(argument), Map.of("PATH", "/usr/bin:/bin"));
    ProcessBuilder builder = command.toProcessBuilder();
    builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process process = builder.start();
    // The outputs are tiny, so reading them one after the other cannot fill a pipe.
    String stdout = new String(process.getInputStream().readAllBytes(), UTF_8);
    String stderr = new String(process.getErrorStream().readAllBytes(), UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "sandbox-exec did not finish");
    return new Result(process.exitValue(), stdout, stderr);
  }

  @Test
  void sandboxExec_grantedFile_readableAndUngrantedFile_refused() throws Exception {
    // @TempDir lives under /var/folders on macOS, which the generator must turn into
    // /private/var/folders for any rule to match.
    Path granted = Files.createDirectories(dir.resolve("granted"));
    Files.writeString(granted.resolve("ok.txt"), "granted-content\n");
    Path secret = Files.writeString(dir.resolve("secret.txt"), "secret-content\n");
    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            List.of(new PathGrant(granted, Access.READ_ONLY, true, "test")), false, CAT);

    Result allowed = run(profile, granted.resolve("ok.txt").toString());
    Result refused = run(profile, secret.toString());

    assertEquals(0, allowed.exit(), allowed.stderr());
    assertEquals("granted-content\n", allowed.stdout());
    assertNotEquals(0, refused.exit());
    assertEquals("", refused.stdout());
    assertTrue(refused.stderr().contains("Operation not permitted"), refused.stderr());
  }

  @Test
  void sandboxExec_maskedFileBelowGrant_refused() throws Exception {
    Path granted = Files.createDirectories(dir.resolve("lib"));
    Path masked = Files.writeString(granted.resolve("libkrunfw.5.dylib"), "masked\n");
    Files.writeString(granted.resolve("other.txt"), "visible\n");
    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            List.of(new PathGrant(granted, Access.READ_ONLY, true, "test")),
            List.of(masked),
            false,
            CAT);

    Result visible = run(profile, granted.resolve("other.txt").toString());
    Result hidden = run(profile, masked.toString());

    assertEquals(0, visible.exit(), visible.stderr());
    assertEquals("visible\n", visible.stdout());
    assertNotEquals(0, hidden.exit());
    assertEquals("", hidden.stdout());
  }
}
