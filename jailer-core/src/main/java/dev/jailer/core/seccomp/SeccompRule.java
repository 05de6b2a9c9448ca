package dev.jailer.core.seccomp;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;

/**
 * One rule of a seccomp profile: the action taken for the named system calls when every
 * argument condition holds.
 *
 * <p>Conditions on distinct argument indexes must all hold (AND). Several conditions on the same
 * index cannot be expressed as one libseccomp rule, so they are compiled as one rule per
 * condition, any of which matches (OR); runc gives OCI files the same meaning.
 *
 * @param names system call names as the kernel spells them (for example {@code "openat"}); a
 *     name the host architecture lacks is skipped when the profile is compiled
 * @param action what happens when the rule matches
 * @param conditions argument conditions; empty means the rule matches every call of the names
 * @param origin where the rule came from, for messages (for example {@code "x.json
 *     syscalls[3]"})
 */
public record SeccompRule(
    ImmutableList<String> names,
    SeccompAction action,
    ImmutableList<SeccompArgCondition> conditions,
    String origin) {

  /**
   * Copies the lists.
   *
   * @throws IllegalArgumentException if {@code names} is empty
   */
  public SeccompRule {
    names = ImmutableList.copyOf(names);
    requireNonNull(action, "action");
    conditions = ImmutableList.copyOf(conditions);
    requireNonNull(origin, "origin");
    checkArgument(!names.isEmpty(), "a rule needs at least one system call name");
  }

  /** True when two or more conditions test the same argument, which makes them alternatives. */
  public boolean hasAlternativeConditions() {
    return conditions.stream().mapToInt(SeccompArgCondition::index).distinct().count()
        < conditions.size();
  }
}
