package dev.jailer.core.nativeaccess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.seccomp.SeccompCompiler;
import dev.jailer.core.seccomp.SeccompProfiles;
import dev.jailer.core.seccomp.SeccompRule;
import dev.jailer.core.testing.Prerequisites;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LibSeccompCompilerTest {
  private SeccompCompiler compiler;

  @BeforeEach
  void requireLibseccomp() {
    Prerequisites.require(NativeAccess.isSeccompAvailable(),
        "libseccomp: " + NativeAccess.seccompUnavailabilityCause().orElse(""));
    compiler = NativeAccess.seccompCompiler();
  }

  @Test
  void seccompCompiler_probedOnce_sameInstanceAndNoCause() {
    assertSame(compiler, NativeAccess.seccompCompiler());
    assertTrue(NativeAccess.seccompUnavailabilityCause().isEmpty());
  }

  @Test
  void compileBpf_defaultProfile_wholeInstructionsWithinKernelLimit() {
    byte[] program = compiler.compileBpf(SeccompProfiles.builtin("default"));

    assertTrue(program.length > 0);
    assertEquals(0, program.length % SeccompCompiler.BPF_INSTRUCTION_BYTES);
    assertTrue(program.length <= 4096 * SeccompCompiler.BPF_INSTRUCTION_BYTES);
  }

  @Test
  void defaultProfile_everyName_knownToLibseccomp() {
    LibSeccompCompiler lib = (LibSeccompCompiler) compiler;

    for (SeccompRule rule : SeccompProfiles.builtin("default").rules()) {
      for (String name : rule.names()) {
        // -1 (__NR_SCMP_ERROR) means a misspelling; other negatives are calls of other arches.
        assertNotEquals(LibSeccomp.NR_SCMP_ERROR, lib.resolve(name), name);
      }
    }
  }

  @Test
  void compileBpf_unknownSyscallName_skippedLikeRunc() {
    byte[] with = compiler.compileBpf(SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
          {"names": ["read", "no_such_call", "socketcall"], "action": "SCMP_ACT_ALLOW"}]}
        """, "a.json"));
    byte[] without = compiler.compileBpf(SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
          {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
        """, "b.json"));

    assertArrayEquals(without, with);
  }

  @Test
  void compileBpf_ruleRepeatingDefaultAction_leftOut() {
    byte[] repeated = compiler.compileBpf(SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
          {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
          {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}
        """, "a.json"));
    byte[] plain = compiler.compileBpf(SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
          {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}
        """, "b.json"));

    assertArrayEquals(plain, repeated);
  }

  @Test
  void compileBpf_argumentConditions_changeTheProgram() {
    byte[] unconditional = compiler.compileBpf(SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["kill"], "action": "SCMP_ACT_ERRNO"}]}
        """, "a.json"));
    byte[] conditional = compiler.compileBpf(SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}]}
        """, "b.json"));

    assertTrue(conditional.length > unconditional.length);
  }

  @Test
  void probeSeccomp_missingLibrary_causeNamesLibraryAndPackage() {
    NativeAccess.ProbeFailure e = assertThrows(NativeAccess.ProbeFailure.class,
        () -> NativeAccess.probeSeccomp("libseccomp-absent.so.2"));

    assertTrue(e.getMessage().startsWith("libseccomp-absent.so.2 could not be loaded: "),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("; install the libseccomp2 package"), e.getMessage());
  }

  @Test
  void probeSeccomp_libraryWithoutSeccompSymbols_causeAsksForNewerLibseccomp() {
    NativeAccess.ProbeFailure e = assertThrows(NativeAccess.ProbeFailure.class,
        () -> NativeAccess.probeSeccomp("libc.so.6"));

    assertTrue(e.getMessage().startsWith("libc.so.6 lacks seccomp_version or seccomp_api_get"),
        e.getMessage());
  }
}
