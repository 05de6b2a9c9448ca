package dev.jailer.core.seccomp;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;

/**
 * An immutable seccomp policy: a default action plus rules, the model both the built-in profiles
 * and OCI profile files are turned into before {@link SeccompCompiler} compiles it.
 *
 * <p>Rules are applied by libseccomp's semantics, not in list order: for one system call, a rule
 * whose conditions hold wins over the default action.
 *
 * @param name a display name for messages and Inspect (for example {@code "builtin:default"} or
 *     the file name)
 * @param defaultAction what happens to every call no rule matches
 * @param architectures the OCI {@code architectures} as written ({@code SCMP_ARCH_X86_64}, …),
 *     kept for display; the compiled filter covers the host's native architecture only and kills
 *     calls made through any other ABI
 * @param rules the rules
 */
public record SeccompProfile(
    String name,
    SeccompAction defaultAction,
    ImmutableList<String> architectures,
    ImmutableList<SeccompRule> rules) {

  /** Copies the lists. */
  public SeccompProfile {
    requireNonNull(name, "name");
    requireNonNull(defaultAction, "defaultAction");
    architectures = ImmutableList.copyOf(architectures);
    rules = ImmutableList.copyOf(rules);
  }
}
