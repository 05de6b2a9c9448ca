package dev.jailer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServerOptionsTest {
  private static ServerOptions parse(long uid, Map<String, String> env, String... args)
      throws InvalidFlagException {
    return ServerOptions.parse(List.of(args), uid, env);
  }

  private static String refusal(String... args) {
    return assertThrows(
            InvalidFlagException.class, () -> parse(1000, Map.of("HOME", "/home/u"), args))
        .getMessage();
  }

  @Test
  void parse_noFlagsAsRoot_usesVarLibAndSocketInRun() throws Exception {
    ServerOptions o = parse(0, Map.of("HOME", "/root", "XDG_STATE_HOME", "/x"));

    assertEquals(Path.of("/var/lib/jailer"), o.stateDir());
    assertEquals(
        List.of(ListenAddress.parse("unix:/var/lib/jailer/run/jailer.sock")),
        o.listenAddresses());
    assertEquals(Optional.of("nobody"), o.boxUser());
    assertEquals(Optional.empty(), o.boxUidRange());
    assertEquals("jailer", o.cgroupParent());
    assertEquals(Duration.ofSeconds(10), o.shutdownGrace());
    assertEquals(Level.INFO, o.logLevel());
    assertEquals(Optional.empty(), o.tls());
    assertFalse(o.insecureLoopbackTcp());
    assertFalse(o.development());
    assertFalse(o.helpRequested());
    assertTrue(o.allowedShimDirs().isEmpty());
  }

  @Test
  void parse_noFlagsAsUserWithXdg_usesXdgStateHome() throws Exception {
    ServerOptions o = parse(1000, Map.of("HOME", "/home/u", "XDG_STATE_HOME", "/home/u/st"));

    assertEquals(Path.of("/home/u/st/jailer"), o.stateDir());
    assertEquals("unix:/home/u/st/jailer/run/jailer.sock", o.listenAddresses().get(0).toString());
  }

  @Test
  void parse_noFlagsAsUserWithRelativeXdg_fallsBackToHome() throws Exception {
    ServerOptions o = parse(1000, Map.of("HOME", "/home/u", "XDG_STATE_HOME", "rel"));

    assertEquals(Path.of("/home/u/.local/state/jailer"), o.stateDir());
  }

  @Test
  void parse_userWithoutHomeOrXdg_requiresStateDir() {
    InvalidFlagException e =
        assertThrows(InvalidFlagException.class, () -> parse(1000, Map.of()));

    assertTrue(e.getMessage().startsWith("--state-dir is required"), e.getMessage());
  }

  @Test
  void parse_everyFlag_isReflected() throws Exception {
    ServerOptions o =
        parse(
            1000,
            Map.of(),
            "--state-dir=/srv/j/",
            "--listen",
            "unix:///srv/j/a.sock",
            "--listen",
            "[::1]:7000",
            "--listen",
            "127.0.0.1:0",
            "--allow-shim-dir",
            "/opt/shims",
            "--allow-shim-dir",
            "/opt/more/../shims2",
            "--allow-volume-root",
            "/data",
            "--allow-seccomp-dir",
            "/etc/jailer/seccomp",
            "--tls-cert",
            "/t/c.pem",
            "--tls-key",
            "/t/k.pem",
            "--tls-client-ca",
            "/t/ca.pem",
            "--insecure-loopback-tcp",
            "--cgroup-parent",
            "system.slice/jailer",
            "--box-uid-range",
            "100000-165535",
            "--development",
            "--shutdown-grace",
            "3",
            "--log-level",
            "debug");

    assertEquals(Path.of("/srv/j"), o.stateDir());
    assertEquals(
        List.of("unix:/srv/j/a.sock", "[::1]:7000", "127.0.0.1:0"),
        o.listenAddresses().stream().map(ListenAddress::toString).toList());
    assertEquals(List.of(Path.of("/opt/shims"), Path.of("/opt/shims2")), o.allowedShimDirs());
    assertEquals(List.of(Path.of("/data")), o.allowedVolumeRoots());
    assertEquals(List.of(Path.of("/etc/jailer/seccomp")), o.allowedSeccompDirs());
    assertEquals(
        new ServerOptions.TlsFiles(Path.of("/t/c.pem"), Path.of("/t/k.pem"), Path.of("/t/ca.pem")),
        o.tls().orElseThrow());
    assertTrue(o.insecureLoopbackTcp());
    assertEquals("system.slice/jailer", o.cgroupParent());
    assertEquals(Optional.of(new ServerOptions.UidRange(100000, 165535)), o.boxUidRange());
    assertEquals(Optional.empty(), o.boxUser());
    assertTrue(o.development());
    assertEquals(Duration.ofSeconds(3), o.shutdownGrace());
    assertEquals(Level.FINE, o.logLevel());
  }

  @Test
  void parse_helpAnywhere_winsOverBadFlags() throws Exception {
    assertTrue(parse(1000, Map.of(), "--bogus", "--help").helpRequested());
    assertTrue(parse(1000, Map.of(), "-h").helpRequested());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--bogus|unknown flag --bogus",
        "stray|unexpected argument 'stray': every option is a --flag",
        "--state-dir|--state-dir needs a value (DIR)",
        "--state-dir relative/dir|--state-dir needs an absolute path, got 'relative/dir'",
        "--state-dir /a --state-dir /b|--state-dir is given more than once",
        "--development=yes|--development takes no value",
        "--listen unix:rel.sock|--listen 'unix:rel.sock' needs an absolute path",
        "--listen 7000|--listen '7000' is neither unix:/absolute/path nor host:port",
        "--listen ::1:7000|--listen '::1:7000': write an IPv6 address in brackets",
        "--listen host:http|--listen 'host:http': the port is not a number",
        "--listen host:70000|--listen 'host:70000': the port is outside 0-65535",
        "--listen :7000|--listen ':7000' is neither unix:/absolute/path nor host:port",
        "--allow-shim-dir shims|--allow-shim-dir needs an absolute path, got 'shims'",
        "--allow-volume-root ./v|--allow-volume-root needs an absolute path, got './v'",
        "--allow-seccomp-dir s|--allow-seccomp-dir needs an absolute path, got 's'",
        "--tls-cert /c.pem|--tls-cert, --tls-key and --tls-client-ca go together (mutual TLS);"
            + " missing: --tls-key, --tls-client-ca",
        "--tls-cert /c --tls-key /k|--tls-cert, --tls-key and --tls-client-ca go together"
            + " (mutual TLS); missing: --tls-client-ca",
        "--box-user u --box-uid-range 1-2|--box-user and --box-uid-range are mutually"
            + " exclusive",
        "--box-user root|--box-user must be an unprivileged user: boxes never run as root",
        "--box-user 0|--box-user must be an unprivileged user: boxes never run as root",
        "--box-user a;b|--box-user 'a;b' is not a user name or uid",
        "--box-uid-range 5|--box-uid-range '5' is not FIRST-LAST",
        "--box-uid-range 0-10|--box-uid-range must not include uid 0 (root)",
        "--box-uid-range 10-5|--box-uid-range '10-5' needs FIRST <= LAST",
        "--cgroup-parent /abs|--cgroup-parent '/abs' is not a relative cgroup name",
        "--cgroup-parent a/../b|--cgroup-parent 'a/../b' is not a relative cgroup name",
        "--shutdown-grace -1|--shutdown-grace '-1' is not a whole number of seconds",
        "--shutdown-grace --development|--shutdown-grace needs a value (SECONDS)",
        "--shutdown-grace 1.5|--shutdown-grace '1.5' is not a whole number of seconds",
        "--log-level loud|--log-level 'loud' is not one of",
      })
  void parse_badFlag_refusedWithMessageNamingIt(String args, String expectedStart) {
    String message = refusal(args.split(" "));

    assertTrue(message.startsWith(expectedStart), message);
    assertFalse(message.contains("\n"), message);
  }

  @Test
  void helpText_listsEveryFlagWithDefault() {
    String help = ServerOptions.helpText();

    for (ServerOptions.Flag flag : ServerOptions.Flag.values()) {
      assertTrue(help.contains("  " + flag.name), flag.name);
      assertTrue(help.contains(flag.description), flag.description);
    }
    assertTrue(help.contains("(default: nobody)"));
    assertTrue(help.contains("(default: 10)"));
    assertTrue(help.contains("(default: unix:<state-dir>/run/jailer.sock)"));
  }
}
