package dev.jailer.core.sandbox.macos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SeatbeltCommandTest {
  private static final Path SHIM = Path.of("/tmp/j/boxes/b1/bin/shim");

  private static SeatbeltProfile profile() {
    return SeatbeltProfile.generate(
        List.of(
            new PathGrant(Path.of("/tmp/j/boxes/b1/bin"), Access.READ_ONLY, true, "shim"),
            new PathGrant(Path.of("/Users/op/a=b c"), Access.READ_WRITE, true, "volume")),
        false,
        SHIM);
  }

  @Test
  void of_profileAndArguments_exactArgv() {
    SeatbeltProfile profile = profile();

    SeatbeltCommand command =
        SeatbeltCommand.of(profile, List.of("--config", "-p", "x y"), Map.of());

    assertEquals(
        ImmutableList.of(
            "/usr/bin/sandbox-exec",
            "-p",
            profile.text(),
            "-D",
            "GRANT_0=/private/tmp/j/boxes/b1/bin",
            "-D",
            "GRANT_1=/Users/op/a=b c",
            "-D",
            "SHIM=/private/tmp/j/boxes/b1/bin/shim",
            "/private/tmp/j/boxes/b1/bin/shim",
            "--config",
            "-p",
            "x y"),
        command.argv());
  }

  @Test
  void of_noArguments_endsWithShim() {
    SeatbeltCommand command = SeatbeltCommand.of(profile(), List.of(), Map.of());

    assertEquals("/usr/bin/sandbox-exec", command.argv().get(0));
    assertEquals("/private/tmp/j/boxes/b1/bin/shim", command.argv().get(command.argv().size() - 1));
    assertEquals(10, command.argv().size());
  }

  @Test
  void of_environment_keptExactlyNothingAdded() {
    ImmutableMap<String, String> env =
        ImmutableMap.of("PATH", "/usr/bin:/bin", "HOME", "/private/tmp/j/boxes/b1/tmp");

    SeatbeltCommand command = SeatbeltCommand.of(profile(), List.of(), env);

    assertEquals(env, command.environment());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "DYLD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "DYLD_FALLBACK_LIBRARY_PATH",
        "dyld_library_path"
      })
  void of_dyldVariable_refused(String name) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SeatbeltCommand.of(profile(), List.of(), Map.of(name, "/x")));
    assertTrue(e.getMessage().contains("DYLD_"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "A=B", "A\0B"})
  void of_malformedVariableName_refused(String name) {
    assertThrows(
        IllegalArgumentException.class,
        () -> SeatbeltCommand.of(profile(), List.of(), Map.of(name, "v")));
  }

  @Test
  void of_nulInArgumentOrValue_refused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> SeatbeltCommand.of(profile(), List.of("a\0b"), Map.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> SeatbeltCommand.of(profile(), List.of(), Map.of("A", "a\0b")));
  }

  @Test
  void constructor_argvNotStartingWithSandboxExec_refused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new SeatbeltCommand(ImmutableList.of("sandbox-exec", "-p", "x"), ImmutableMap.of()));
  }

  @Test
  void toProcessBuilder_jvmEnvironment_notInherited() {
    // The JVM always has variables of its own (PATH at least; under Maven also
    // JAILER_TEST_SECRET); none of them may reach the box.
    assertFalse(System.getenv().isEmpty());
    SeatbeltCommand command = SeatbeltCommand.of(profile(), List.of("x"), Map.of("A", "1"));

    ProcessBuilder builder = command.toProcessBuilder();

    assertEquals(Map.of("A", "1"), builder.environment());
    assertFalse(builder.environment().containsKey("JAILER_TEST_SECRET"));
    assertEquals(command.argv(), builder.command());
  }
}
