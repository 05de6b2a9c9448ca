package dev.jailer.core.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Skips a test whose host prerequisite is missing on a developer machine, and fails it in CI
 * ({@code CI=true}), where every prerequisite is installed by {@code .ci/run} and a skip would
 * hide a broken install step.
 */
public final class Prerequisites {
  private Prerequisites() {}

  /** True when running under CI, where missing prerequisites are failures. */
  public static boolean inCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Continues when {@code present}; otherwise skips (developer machine) or fails (CI). */
  public static void require(boolean present, String whatIsMissing) {
    if (present) {
      return;
    }
    if (inCi()) {
      fail("prerequisite missing in CI: " + whatIsMissing);
    }
    assumeTrue(false, "prerequisite missing: " + whatIsMissing);
  }

  /**
   * For the few prerequisites that this kind of build machine cannot have at all (real cgroup
   * v2 controllers on a hybrid host, the macOS sandbox): skips even in CI.
   */
  public static void requireHostFeature(boolean present, String whatIsMissing) {
    assumeTrue(present, "host feature not available here: " + whatIsMissing);
  }
}
