package dev.jailer.core.sandbox.macos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.box.Limits;
import com.google.common.collect.ImmutableMap;
import org.junit.jupiter.api.Test;

class MacLimitsTest {
  @Test
  void assess_everyLimitRequested_cgroupLimitsUnenforcedRlimitsEnforced() {
    MacLimits.Assessment a =
        MacLimits.assess(
            new Limits(1L << 30, 1500, 64, 1024, 1L << 20, 600, 8L << 30, 0));

    assertEquals(ImmutableList.of("memory_bytes", "cpu_millis", "max_pids"), a.unenforced());
    assertEquals(
        ImmutableList.of(
            "max_open_files", "max_file_size_bytes", "max_cpu_seconds", "max_address_space_bytes"),
        a.enforced());
    assertEquals(
        ImmutableMap.of(
            "RLIMIT_NOFILE",
            1024L,
            "RLIMIT_FSIZE",
            1L << 20,
            "RLIMIT_CPU",
            600L,
            "RLIMIT_AS",
            8L << 30),
        a.rlimits());
    assertEquals(
        ImmutableList.copyOf(a.rlimits().keySet()),
        ImmutableList.of("RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_AS"));
  }

  @Test
  void assess_coreLimitRequested_enforcedAsRlimitCore() {
    MacLimits.Assessment a = MacLimits.assess(new Limits(0, 0, 0, 0, 0, 0, 0, 4096));

    assertEquals(ImmutableList.of("max_core_bytes"), a.enforced());
    assertEquals(ImmutableMap.of("RLIMIT_CORE", 4096L), a.rlimits());
    assertTrue(a.unenforced().isEmpty());
  }

  @Test
  void assess_onlyMemoryRequested_onlyMemoryUnenforced() {
    MacLimits.Assessment a =
        MacLimits.assess(new Limits(512L << 20, 0, 0, 0, 0, 0, 0, 0));

    assertEquals(ImmutableList.of("memory_bytes"), a.unenforced());
    assertTrue(a.enforced().isEmpty());
    assertTrue(a.rlimits().isEmpty());
  }

  @Test
  void assess_pidsAndCpu_unenforcedInFieldOrder() {
    MacLimits.Assessment a = MacLimits.assess(new Limits(0, 250, 10, 0, 0, 0, 0, 0));

    assertEquals(ImmutableList.of("cpu_millis", "max_pids"), a.unenforced());
  }

  @Test
  void assess_nothingRequested_nothingListed() {
    MacLimits.Assessment a = MacLimits.assess(new Limits(0, 0, 0, 0, 0, 0, 0, 0));

    assertTrue(a.enforced().isEmpty());
    assertTrue(a.unenforced().isEmpty());
    assertTrue(a.rlimits().isEmpty());
  }

  @Test
  void assess_negativeValue_refusedNamingTheField() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MacLimits.assess(new Limits(0, 0, -1, 0, 0, 0, 0, 0)));
    assertTrue(e.getMessage().startsWith("max_pids"), e.getMessage());
  }

  @Test
  void cgroupOnly_listsTheThreeFieldsMacOsCannotEnforce() {
    assertEquals(ImmutableList.of("memory_bytes", "cpu_millis", "max_pids"), MacLimits.CGROUP_ONLY);
  }
}
