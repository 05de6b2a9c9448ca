package dev.jailer.core.sandbox.macos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SeatbeltPathsTest {
  @ParameterizedTest
  @CsvSource({
    "/var, /private/var",
    "/tmp, /private/tmp",
    "/etc, /private/etc",
    "/var/folders/xy/T/jailer, /private/var/folders/xy/T/jailer",
    "/tmp/jailer/boxes/b1/sockets, /private/tmp/jailer/boxes/b1/sockets",
    "/etc/hosts, /private/etc/hosts",
  })
  void canonicalize_systemLink_becomesPrivateForm(String path, String expected) {
    assertEquals(expected, SeatbeltPaths.canonicalize(path));
    assertEquals(expected, SeatbeltPaths.canonicalize(Path.of(path)));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/",
        "/private/var/db",
        "/private/tmp",
        "/variable",
        "/tmpfiles/x",
        "/etcetera",
        "/usr/var",
        "/Users/op/tmp",
        "/Users/op/a\"b\\c\nd(e);f",
      })
  void canonicalize_otherPath_unchanged(String path) {
    assertEquals(path, SeatbeltPaths.canonicalize(path));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "tmp/x",
        "./x",
        "/tmp/a\0b",
        "/Users/op/../root",
        "/Users/op/./x",
        "/Users/op/..",
        "/Users//op",
        "/Users/op/",
        "//",
      })
  void canonicalize_malformedPath_refused(String path) {
    assertThrows(IllegalArgumentException.class, () -> SeatbeltPaths.canonicalize(path));
  }

  @ParameterizedTest
  @ValueSource(strings = {"/tmp/..", "/var/./x"})
  void canonicalize_nonNormalisedSystemLink_refusedNotRewritten(String path) {
    assertThrows(IllegalArgumentException.class, () -> SeatbeltPaths.canonicalize(path));
  }
}
