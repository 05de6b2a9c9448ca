package dev.jailer.core.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.JailerException;
import dev.jailer.core.seccomp.SeccompArgCondition.Op;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SeccompProfilesTest {
  private static final SeccompProfiles.Host AMD64_5_10 = new SeccompProfiles.Host("amd64", 5, 10);

  @Test
  void builtin_emptyOrDefault_returnsKillProcessAllowlist() {
    SeccompProfile profile = SeccompProfiles.builtin("");

    assertSame(profile, SeccompProfiles.builtin("default"));
    assertEquals("builtin:default", profile.name());
    assertEquals(SeccompAction.killProcess(), profile.defaultAction());
  }

  @Test
  void builtin_unknownName_invalidArgumentListingKnownNames() {
    JailerException e =
        assertThrows(JailerException.class, () -> SeccompProfiles.builtin("strict"));

    assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("seccomp.builtin", e.violations().get(0).field());
    assertTrue(e.getMessage().contains("\"strict\""), e.getMessage());
    assertTrue(e.getMessage().contains("known profiles: default"), e.getMessage());
  }

  @Test
  void builtinDefault_forbiddenCalls_neverAllowed() {
    Set<String> named = namesWithAction(SeccompProfiles.builtin("default"));

    for (String forbidden : List.of("mount", "umount2", "pivot_root", "chroot", "ptrace",
        "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load", "init_module",
        "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
        "request_key", "setns", "unshare", "reboot", "swapon", "swapoff", "open_by_handle_at",
        "userfaultfd", "acct", "settimeofday", "clock_settime", "quotactl", "lookup_dcookie",
        "name_to_handle_at", "iopl", "ioperm", "syslog", "io_uring_setup", "pidfd_getfd")) {
      assertTrue(!named.contains(forbidden), forbidden + " must not appear in the default");
    }
  }

  @Test
  void builtinDefault_execveAndKvmNeeds_allowedUnconditionally() {
    SeccompProfile profile = SeccompProfiles.builtin("default");

    for (String needed : List.of("execve", "ioctl", "mmap", "futex", "epoll_wait", "eventfd2",
        "memfd_create", "wait4", "exit_group", "rseq", "getrandom")) {
      assertTrue(profile.rules().stream().anyMatch(r -> r.names().contains(needed)
              && r.action().equals(SeccompAction.allow()) && r.conditions().isEmpty()),
          needed);
    }
  }

  @Test
  void builtinDefault_ioUringSetup_failsWithEnosysSoCallersFallBack() {
    List<SeccompRule> rules = SeccompProfiles.builtin("default").rules().stream()
        .filter(r -> r.names().contains("io_uring_setup")).toList();

    assertEquals(1, rules.size(), rules.toString());
    assertEquals(SeccompAction.errno(38), rules.get(0).action());
    Set<String> named = namesWithAction(SeccompProfiles.builtin("default"));
    assertTrue(!named.contains("io_uring_enter") && !named.contains("io_uring_register"));
  }

  @Test
  void builtinDefault_numaPolicyOfOwnMemory_allowedButNotOfOtherProcesses() {
    Set<String> named = namesWithAction(SeccompProfiles.builtin("default"));

    assertTrue(named.containsAll(List.of("get_mempolicy", "set_mempolicy", "mbind")), "numa");
    assertTrue(!named.contains("migrate_pages") && !named.contains("move_pages"), "others");
  }

  @Test
  void builtinDefault_clone_allowedOnlyWithoutNamespaceFlags() {
    SeccompRule clone = SeccompProfiles.builtin("default").rules().stream()
        .filter(r -> r.names().contains("clone")).findFirst().orElseThrow();

    assertEquals(List.of(SeccompArgCondition.maskedEq(0, 0x7E020000L, 0)), clone.conditions());
  }

  @Test
  void parseOci_fullProfile_keepsEveryField() {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {
          "defaultAction": "SCMP_ACT_ERRNO",
          "defaultErrnoRet": 38,
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
          "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "comment": "no new dirs"},
            {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_KILL"},
            {"names": ["tkill"], "action": "SCMP_ACT_TRAP"},
            {"names": ["tgkill"], "action": "SCMP_ACT_LOG"}
          ]
        }
        """, "full.json", AMD64_5_10);

    assertEquals("full.json", profile.name());
    assertEquals(SeccompAction.errno(38), profile.defaultAction());
    assertEquals(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"), profile.architectures());
    ImmutableList<SeccompRule> rules = profile.rules();
    assertEquals(8, rules.size());
    assertEquals(List.of("read", "write"), rules.get(0).names());
    assertEquals(SeccompAction.errno(SeccompAction.EPERM), rules.get(1).action());
    assertEquals(SeccompAction.errno(13), rules.get(2).action());
    assertEquals(new SeccompArgCondition(0, 2114060288L, 0, Op.MASKED_EQ),
        rules.get(3).conditions().get(0));
    assertEquals(-1L, rules.get(4).conditions().get(0).value());
    assertEquals(SeccompAction.killThread(), rules.get(5).action());
    assertEquals(SeccompAction.trap(), rules.get(6).action());
    assertEquals(SeccompAction.log(), rules.get(7).action());
    assertEquals("full.json syscalls[2]", rules.get(2).origin());
  }

  @Test
  void parseOci_olderNameField_accepted() {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_KILL_PROCESS",
         "syscalls": [{"name": "getpid", "action": "SCMP_ACT_ALLOW", "args": null}]}
        """, "old.json", AMD64_5_10);

    assertEquals(List.of("getpid"), profile.rules().get(0).names());
    assertEquals(SeccompAction.killProcess(), profile.defaultAction());
  }

  @Test
  void parseOci_archMap_collectsArchitecturesOnce() {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ERRNO",
         "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                      "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
         "architectures": ["SCMP_ARCH_X86_64"]}
        """, "map.json", AMD64_5_10);

    assertEquals(
        List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"), profile.architectures());
    assertTrue(profile.rules().isEmpty());
  }

  @Test
  void parseOci_includesAndExcludes_evaluatedForAnUnprivilegedHost() {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
          {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
           "includes": {"caps": ["CAP_SYS_ADMIN"]}},
          {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW",
           "includes": {"arches": ["amd64", "x32"]}},
          {"names": ["s390_pci_mmio_read"], "action": "SCMP_ACT_ALLOW",
           "includes": {"arches": ["s390x"]}},
          {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
           "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
          {"names": ["old_enough"], "action": "SCMP_ACT_ALLOW",
           "includes": {"minKernel": "4.8"}},
          {"names": ["too_new"], "action": "SCMP_ACT_ALLOW",
           "includes": {"minKernel": "5.11"}},
          {"names": ["not_here"], "action": "SCMP_ACT_ALLOW",
           "excludes": {"arches": ["amd64"]}}
        ]}
        """, "docker.json", AMD64_5_10);

    assertEquals(List.of("arch_prctl", "clone", "old_enough"),
        profile.rules().stream().map(r -> r.names().get(0)).toList());
  }

  @Test
  void parseOci_notifyAction_refusedNamingFileRuleAndFix() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["openat"], "action": "SCMP_ACT_NOTIFY"}]}
        """);

    assertEquals("seccomp.file: seccomp profile bad.json: syscalls[1] (openat) \"action\""
        + " SCMP_ACT_NOTIFY is refused: it needs a user-space supervisor that Jailer does not"
        + " run; use SCMP_ACT_ERRNO or SCMP_ACT_KILL_PROCESS instead", e.getMessage());
  }

  @Test
  void parseOci_traceAction_refused() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["ptrace", "kill"], "action": "SCMP_ACT_TRACE", "errnoRet": 1}]}
        """);

    assertTrue(e.getMessage().startsWith("seccomp.file: seccomp profile bad.json: syscalls[0]"
        + " (ptrace, ...) \"action\" SCMP_ACT_TRACE is refused"), e.getMessage());
  }

  @Test
  void parseOci_traceAsDefaultAction_refused() {
    JailerException e = parseFails("{\"defaultAction\": \"SCMP_ACT_TRACE\"}");

    assertTrue(e.getMessage().contains("\"defaultAction\" SCMP_ACT_TRACE is refused"),
        e.getMessage());
  }

  @Test
  void parseOci_unknownAction_refusedListingKnownActions() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["read"], "action": "SCMP_ACT_DENY"}]}
        """);

    assertTrue(e.getMessage().contains("syscalls[0] (read) \"action\" \"SCMP_ACT_DENY\" is not"
        + " a known action; use one of SCMP_ACT_KILL_PROCESS"), e.getMessage());
  }

  @Test
  void parseOci_malformedJson_refusedAsInvalidJson() {
    JailerException e = parseFails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [");

    assertTrue(e.getMessage().startsWith(
        "seccomp.file: seccomp profile bad.json: is not valid JSON ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("); fix the syntax"), e.getMessage());
  }

  @Test
  void parseOci_lenientSyntax_refused() {
    parseFails("{defaultAction: 'SCMP_ACT_ALLOW'}");
    parseFails("{\"defaultAction\": \"SCMP_ACT_ALLOW\"} {}");
    parseFails("[]");
  }

  @Test
  void parseOci_missingDefaultAction_refused() {
    JailerException e = parseFails("{\"syscalls\": []}");

    assertTrue(e.getMessage().contains("\"defaultAction\" is missing"), e.getMessage());
  }

  @Test
  void parseOci_misspeltKey_refusedInsteadOfDefaultingToEperm() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoret": 38}]}
        """);

    assertTrue(e.getMessage().contains("syscalls[0] has unknown key \"errnoret\""),
        e.getMessage());
  }

  @Test
  void parseOci_errnoRetWithAllow_refused() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
          {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "errnoRet": 38}]}
        """);

    assertTrue(e.getMessage().contains("syscalls[0] (uname) \"errnoRet\" is only meaningful with"
        + " SCMP_ACT_ERRNO"), e.getMessage());
  }

  @Test
  void parseOci_errnoOutOfRange_refused() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4096}
        """);

    assertTrue(e.getMessage().contains("\"defaultErrnoRet\" 4096 is out of range"),
        e.getMessage());
  }

  @Test
  void parseOci_malformedSyscallName_refused() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["read", "Open At"], "action": "SCMP_ACT_ERRNO"}]}
        """);

    assertTrue(e.getMessage().contains("syscalls[0] system call name \"Open At\" is not a system"
        + " call name"), e.getMessage());
  }

  @Test
  void parseOci_badArgument_refusedNamingTheArgument() {
    assertTrue(parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
          "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}
        """).getMessage().contains("syscalls[0] (read) args[0] \"index\" 6 is out of range"));
    assertTrue(parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
          "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_LIKE"}]}]}
        """).getMessage().contains("args[0] \"op\" \"SCMP_CMP_LIKE\" is unknown"));
    assertTrue(parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
          "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}
        """).getMessage().contains("args[0] \"value\" -1 is out of range"));
  }

  @Test
  void parseOci_listenerPathOrFlags_refused() {
    assertTrue(parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/seccomp.sock"}
        """).getMessage().contains("\"listenerPath\" is refused"));
    assertTrue(parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}
        """).getMessage().contains("\"flags\" is refused"));
  }

  @Test
  void parseOci_foreignArchitectureName_refused() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]}
        """);

    assertTrue(e.getMessage().contains("architecture \"x86_64\" is not an SCMP_ARCH_* name"),
        e.getMessage());
  }

  @Test
  void parseOci_sameCallSameArgumentsDifferentActions_refusedAsOrderDependent() {
    JailerException e = parseFails("""
        {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
          {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["close"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["write"], "action": "SCMP_ACT_ERRNO"}]}
        """);

    assertTrue(e.getMessage().endsWith("syscalls[2] (write) conflicts with syscalls[0]: both"
        + " match write with the same arguments but ask for SCMP_ACT_ALLOW and"
        + " SCMP_ACT_ERRNO(1); keep one of them"), e.getMessage());
  }

  @Test
  void parseOci_sameCallDifferentArgumentsOrSameAction_accepted() {
    SeccompProfile profile = SeccompProfiles.parseOci("""
        {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
          {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
          {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}]}
        """, "ok.json", AMD64_5_10);

    assertEquals(4, profile.rules().size());
  }

  private static JailerException parseFails(String json) {
    JailerException e = assertThrows(
        JailerException.class, () -> SeccompProfiles.parseOci(json, "bad.json", AMD64_5_10));
    assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("seccomp.file", e.violations().get(0).field());
    assertTrue(e.getMessage().startsWith("seccomp.file: seccomp profile bad.json: "),
        e.getMessage());
    return e;
  }

  private static Set<String> namesWithAction(SeccompProfile profile) {
    Set<String> names = new HashSet<>();
    for (SeccompRule rule : profile.rules()) {
      if (rule.action().type() == SeccompAction.Type.ALLOW
          || rule.action().type() == SeccompAction.Type.LOG) {
        names.addAll(rule.names());
      }
    }
    return names;
  }
}
