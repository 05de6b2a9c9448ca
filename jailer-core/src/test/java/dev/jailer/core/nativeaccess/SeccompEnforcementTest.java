package dev.jailer.core.nativeaccess;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.seccomp.SeccompProfile;
import dev.jailer.core.seccomp.SeccompProfiles;
import dev.jailer.core.testing.Prerequisites;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs real programs under bwrap with filters compiled by {@link NativeAccess#seccompCompiler()}
 * and checks what the kernel does to them.
 *
 * <p>Observed on the build machine (bwrap 0.8.0, --unshare-pid): a program killed by seccomp
 * (SIGSYS, signal 31) makes bwrap exit with 159 = 128 + 31.
 */
class SeccompEnforcementTest {
  private static final Path BWRAP = Path.of("/usr/bin/bwrap");
  private static final int KILLED_BY_SIGSYS = 128 + 31;

  // The shell opens the BPF file on fd 3, because ProcessBuilder passes only fds 0 to 2.
  private static final String LAUNCH =
      "exec 3<\"$1\"; shift; exec /usr/bin/bwrap --ro-bind / / --dev /dev --proc /proc"
          + " --unshare-user --unshare-pid --seccomp 3 -- \"$@\"";

  @TempDir static Path dir;

  private static Path ordinary;
  private static Path syscalls;
  private static Path defaultBpf;

  @BeforeAll
  static void buildPrograms() throws Exception {
    Prerequisites.require(Files.isExecutable(BWRAP), "bubblewrap at /usr/bin/bwrap");
    Prerequisites.require(onPath("gcc"), "gcc on PATH");
    Prerequisites.require(NativeAccess.isSeccompAvailable(),
        "libseccomp: " + NativeAccess.seccompUnavailabilityCause().orElse(""));

    ordinary = compile("ordinary.c", "-pthread");
    syscalls = compile("syscalls.c", "-pthread");
    defaultBpf = writeBpf("default.bpf", SeccompProfiles.builtin("default"));
  }

  @Test
  void defaultProfile_ordinaryWork_exitsZero() throws Exception {
    Path data = Files.writeString(dir.resolve("data.txt"), "hello");

    Result r = run(defaultBpf, ordinary.toString(), data.toString());

    assertEquals(0, r.exit, r.toString());
    assertEquals("read:hello\n", r.stdout);
  }

  @Test
  void defaultProfile_shellEcho_works() throws Exception {
    Result r = run(defaultBpf, "/bin/sh", "-c", "echo hi; ls / >/dev/null && cat /etc/hostname"
        + " >/dev/null && echo done");

    assertEquals(0, r.exit, r.toString());
    assertEquals("hi\ndone\n", r.stdout);
  }

  @Test
  void defaultProfile_ptrace_killedBySigsys() throws Exception {
    assertKilled("ptrace");
  }

  @Test
  void defaultProfile_unshare_killedBySigsys() throws Exception {
    assertKilled("unshare");
  }

  @Test
  void defaultProfile_mount_killedBySigsys() throws Exception {
    assertKilled("mount");
  }

  @Test
  void defaultProfile_keyctl_killedBySigsys() throws Exception {
    assertKilled("keyctl");
  }

  @Test
  void defaultProfile_cloneWithNewUser_killedBySigsys() throws Exception {
    assertKilled("clone-newuser");
  }

  @Test
  void defaultProfile_personalityWithoutAslr_killedBySigsys() throws Exception {
    assertKilled("personality-no-aslr");
  }

  @Test
  void defaultProfile_packetSocket_killedBySigsys() throws Exception {
    assertKilled("socket-packet");
  }

  @Test
  @EnabledIfSystemProperty(named = "os.arch", matches = "amd64")
  void allowByDefaultProfile_32BitAbiCall_killedAsBadArchitecture() throws Exception {
    // Without a filter the call returns the pid; only a kernel without IA-32 emulation lacks it.
    Process plain = new ProcessBuilder(syscalls.toString(), "int80-getpid").start();
    String plainOut = readAll(plain.getInputStream());
    Prerequisites.requireHostFeature(
        plain.waitFor() == 0 && plainOut.endsWith(" errno=0\n"), "IA-32 emulation");

    Result r = run(allowAllBpf(), syscalls.toString(), "int80-getpid");

    // The default action would allow getpid: only the bad-architecture action can kill it.
    assertEquals(KILLED_BY_SIGSYS, r.exit, r.toString());
    assertEquals("before\n", r.stdout);
  }

  @Test
  @EnabledIfSystemProperty(named = "os.arch", matches = "amd64")
  void allowByDefaultProfile_x32AbiCall_killedAsBadArchitecture() throws Exception {
    Result r = run(allowAllBpf(), syscalls.toString(), "x32-getpid");

    assertEquals(KILLED_BY_SIGSYS, r.exit, r.toString());
    assertEquals("before\n", r.stdout);
  }

  @Test
  void defaultProfile_forbiddenCallInSecondThread_killsWholeProcess() throws Exception {
    Result r = run(defaultBpf, syscalls.toString(), "thread:ptrace");

    assertEquals(KILLED_BY_SIGSYS, r.exit, r.toString());
    assertEquals("before\n", r.stdout);
  }

  @Test
  void ociKillThreadProfile_forbiddenCallInSecondThread_mainThreadSurvives() throws Exception {
    // The contrast to the test above: SCMP_ACT_KILL ends only the calling thread.
    Path bpf = writeBpf("kill-thread.bpf", SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_KILL"}]}
        """, "kill-thread.json"));

    Result r = run(bpf, syscalls.toString(), "thread:ptrace");

    assertEquals(0, r.exit, r.toString());
    assertEquals("before\nmain survived\n", r.stdout);
  }

  @Test
  @EnabledIfSystemProperty(named = "os.arch", matches = "amd64")
  void allowByDefaultProfile_badArchitectureInSecondThread_killsWholeProcess()
      throws Exception {
    Result r = run(allowAllBpf(), syscalls.toString(), "thread:x32-getpid");

    assertEquals(KILLED_BY_SIGSYS, r.exit, r.toString());
    assertEquals("before\n", r.stdout);
  }

  @Test
  void allowByDefaultProfile_nativeCall_survives() throws Exception {
    Result r = run(allowAllBpf(), syscalls.toString(), "uname");

    assertEquals(0, r.exit, r.toString());
    assertEquals("before\nsurvived rc=0 errno=0\n", r.stdout);
  }

  @Test
  void defaultProfile_clone3_failsWithEnosys() throws Exception {
    Result r = run(defaultBpf, syscalls.toString(), "clone3");

    assertEquals(0, r.exit, r.toString());
    assertEquals("before\nsurvived rc=-1 errno=38\n", r.stdout);
  }

  @Test
  void defaultProfile_allowedVariants_survive() throws Exception {
    for (String call : List.of("personality-query", "socket-unix", "uname")) {
      Result r = run(defaultBpf, syscalls.toString(), call);

      assertEquals(0, r.exit, call + ": " + r);
      assertTrue(r.stdout.startsWith("before\nsurvived rc="), call + ": " + r);
      assertTrue(r.stdout.endsWith(" errno=0\n"), call + ": " + r);
    }
  }

  @Test
  void ociProfile_errnoRule_failsCallWithConfiguredErrnoAndProgramContinues() throws Exception {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {
          "defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [
            {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
          ]
        }
        """, "errno.json");
    Path bpf = writeBpf("errno.bpf", profile);

    Result uname = run(bpf, syscalls.toString(), "uname");
    Result pgrp = run(bpf, syscalls.toString(), "getpriority-pgrp");
    Result process = run(bpf, syscalls.toString(), "getpriority-process");

    assertEquals(0, uname.exit, uname.toString());
    assertEquals("before\nsurvived rc=-1 errno=42\n", uname.stdout);
    assertEquals("before\nsurvived rc=-1 errno=77\n", pgrp.stdout);
    assertTrue(process.stdout.endsWith(" errno=0\n"), process.toString());
  }

  @Test
  void ociProfile_withoutExecve_killsBeforeProgramStarts() throws Exception {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_KILL_PROCESS"}]}
        """, "no-execve.json");
    Path bpf = writeBpf("no-execve.bpf", profile);

    Result r = run(bpf, syscalls.toString(), "uname");

    assertEquals(KILLED_BY_SIGSYS, r.exit, r.toString());
    assertEquals("", r.stdout);
  }

  private static Path allowAllBpf() throws IOException {
    return writeBpf("allow-all.bpf", SeccompProfiles.parseOci(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", "allow-all.json"));
  }

  private static void assertKilled(String call) throws Exception {
    Result r = run(defaultBpf, syscalls.toString(), call);

    assertEquals(KILLED_BY_SIGSYS, r.exit, call + ": " + r);
    assertEquals("before\n", r.stdout, call + ": the program must die in the call");
  }

  private record Result(int exit, String stdout, String stderr) {}

  private static Result run(Path bpf, String... command) throws Exception {
    List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", LAUNCH, "sh", bpf.toString()));
    argv.addAll(List.of(command));
    Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(
        Path.of("/dev/null").toFile())).start();
    // Small outputs: reading them one after the other cannot fill a pipe and block.
    String stdout = readAll(p.getInputStream());
    String stderr = readAll(p.getErrorStream());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bwrap did not finish");
    return new Result(p.exitValue(), stdout, stderr);
  }

  private static Path compile(String resource, String... flags) throws Exception {
    Path source = dir.resolve(resource);
    try (InputStream in = SeccompEnforcementTest.class.getResourceAsStream(resource)) {
      Files.copy(in, source);
    }
    Path binary = dir.resolve(resource.replace(".c", ""));
    List<String> argv = new ArrayList<>(List.of("gcc", "-O1", "-Wall", "-o", binary.toString(),
        source.toString()));
    argv.addAll(List.of(flags));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = readAll(p.getInputStream());
    assertEquals(0, p.waitFor(), "gcc failed: " + out);
    return binary;
  }

  private static Path writeBpf(String name, SeccompProfile profile) throws IOException {
    byte[] program = NativeAccess.seccompCompiler().compileBpf(profile);
    return Files.write(dir.resolve(name), program);
  }

  private static String readAll(InputStream in) throws IOException {
    try (in) {
      return new String(in.readAllBytes(), UTF_8);
    }
  }

  private static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }
}
