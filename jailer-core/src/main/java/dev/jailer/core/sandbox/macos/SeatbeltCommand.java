package dev.jailer.core.sandbox.macos;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The exact command line and environment that start a shim under {@code sandbox-exec}.
 *
 * <p>The argv is {@code /usr/bin/sandbox-exec -p <profile> -D NAME=value ... <shim> <args...>}:
 *
 * <ul>
 *   <li>{@code /usr/bin/sandbox-exec} by absolute path, never looked up in {@code PATH}: a {@code
 *       PATH} entry the caller controls would otherwise decide what confines the shim;
 *   <li>{@code -p} with the profile text rather than {@code -f} with a file: nothing is left on
 *       disk, so there is no file to clean up, to protect or to swap between writing and reading.
 *       The profile holds no paths ({@link SeatbeltProfile}), and a few kilobytes fit easily within
 *       {@code ARG_MAX} (1 MiB on macOS);
 *   <li>one {@code -D NAME=value} per profile parameter, in the profile's order. sandbox-exec
 *       splits at the first {@code =}, so a value may itself contain {@code =};
 *   <li>the shim's canonical path, which is absolute and so never taken for an option, then its
 *       arguments verbatim. sandbox-exec stops parsing options at the first operand, so arguments
 *       that start with {@code -} reach the shim unchanged.
 * </ul>
 *
 * <p>Environment: {@code sandbox-exec} is protected by System Integrity Protection, and dyld drops
 * every {@code DYLD_*} variable when it starts a protected binary, so such a variable would never
 * reach the shim. Nothing may depend on one (libkrunfw is found through the shim's {@code @rpath},
 * DESIGN §1). This class adds no variable of its own and refuses a {@code DYLD_*} variable given to
 * it, so that a caller relying on one fails loudly instead of being silently ignored. The launcher
 * is expected to start the process with exactly {@link #environment()}, which {@link
 * #toProcessBuilder()} does.
 *
 * <p>Instances are immutable.
 *
 * @param argv the full command line, starting with {@link #SANDBOX_EXEC}
 * @param environment the complete environment of the sandbox-exec process
 */
public record SeatbeltCommand(
    ImmutableList<String> argv, ImmutableMap<String, String> environment) {
  /** Absolute path of Apple's sandbox launcher. */
  public static final String SANDBOX_EXEC = "/usr/bin/sandbox-exec";

  /**
   * Checks that the argv starts with {@link #SANDBOX_EXEC} and that the environment holds no {@code
   * DYLD_*} variable; prefer {@link #of}.
   *
   * @throws IllegalArgumentException if either check fails
   */
  public SeatbeltCommand {
    requireNonNull(argv, "argv");
    requireNonNull(environment, "environment");
    if (argv.isEmpty() || !argv.get(0).equals(SANDBOX_EXEC)) {
      throw new IllegalArgumentException("argv must start with " + SANDBOX_EXEC);
    }
    environment.keySet().forEach(SeatbeltCommand::checkVariableName);
  }

  /**
   * Builds the command that runs {@code profile}'s shim with {@code shimArguments} and exactly
   * {@code environment}.
   *
   * @param profile the profile, its parameters and the shim path
   * @param shimArguments the shim's arguments, after its path; passed verbatim
   * @param environment every variable the process is to have; nothing is added
   * @return the command; same arguments, same command
   * @throws IllegalArgumentException if an argument or a variable contains a NUL character (it
   *     cannot travel in a C string), a variable name is empty or contains {@code =}, or a variable
   *     is a {@code DYLD_*} one
   */
  public static SeatbeltCommand of(
      SeatbeltProfile profile, List<String> shimArguments, Map<String, String> environment) {
    requireNonNull(profile, "profile");
    requireNonNull(shimArguments, "shimArguments");
    requireNonNull(environment, "environment");

    ImmutableList.Builder<String> argv = ImmutableList.builder();
    argv.add(SANDBOX_EXEC, "-p", profile.text());
    profile.parameters().forEach((name, value) -> argv.add("-D", name + "=" + value));
    argv.add(profile.shimPath());
    for (String argument : shimArguments) {
      argv.add(checkNoNul(requireNonNull(argument, "shim argument"), "shim argument"));
    }

    ImmutableMap.Builder<String, String> env = ImmutableMap.builder();
    environment.forEach(
        (name, value) -> {
          checkVariableName(name);
          env.put(name, checkNoNul(requireNonNull(value, "value of " + name), "value of " + name));
        });
    return new SeatbeltCommand(argv.build(), env.buildOrThrow());
  }

  /**
   * A {@link ProcessBuilder} for this command whose environment is exactly {@link #environment()}:
   * the JVM's own environment, which a {@code ProcessBuilder} starts from, is cleared first so that
   * no variable of the jailer leaks into the box.
   */
  public ProcessBuilder toProcessBuilder() {
    ProcessBuilder builder = new ProcessBuilder(argv);
    builder.environment().clear();
    builder.environment().putAll(environment);
    return builder;
  }

  private static void checkVariableName(String name) {
    requireNonNull(name, "environment variable name");
    if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("invalid environment variable name: " + name);
    }
    // dyld compares the prefix case-sensitively, but a lower-case spelling can only be a
    // mistake for the real one, so it is refused too.
    if (name.toUpperCase(Locale.ROOT).startsWith("DYLD_")) {
      throw new IllegalArgumentException(
          name + " cannot reach a shim under sandbox-exec: SIP strips every DYLD_* variable");
    }
  }

  private static String checkNoNul(String value, String what) {
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(what + " contains a NUL character");
    }
    return value;
  }
}
