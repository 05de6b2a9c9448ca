package dev.jailer.core.spawn;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import dev.jailer.core.JailerException;
import dev.jailer.core.JailerException.Violation;
import dev.jailer.core.box.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a Spawn call asks for.
 *
 * @param args arguments after the shim's own name
 * @param env extra environment variables inside the sandbox
 * @param network give the shim the host's network
 * @param limits requested limits; a 0 field takes the server's default
 * @param seccompBuiltin a built-in seccomp profile name ("" for the default), or null when a
 *     file is asked for
 * @param seccompFile an absolute seccomp profile file path, or null
 */
public record SpawnOptions(
    ImmutableList<String> args,
    ImmutableMap<String, String> env,
    boolean network,
    Limits limits,
    String seccompBuiltin,
    String seccompFile) {

  /** Variables the jailer sets itself inside the sandbox. */
  public static final ImmutableSet<String> RESERVED =
      ImmutableSet.of("PATH", "HOME", "TMPDIR", "LD_LIBRARY_PATH");

  /**
   * Variables that change how the loader or libc of the shim behaves: glibc clears the same set
   * for setuid programs (its {@code unsecvars.h}), and macOS's dyld reads {@code DYLD_*}.
   */
  private static final ImmutableSet<String> INJECTION =
      ImmutableSet.of(
          "GCONV_PATH",
          "GETCONF_DIR",
          "GLIBC_TUNABLES",
          "HOSTALIASES",
          "LOCALDOMAIN",
          "LOCPATH",
          "MALLOC_TRACE",
          "NIS_PATH",
          "NLSPATH",
          "RESOLV_HOST_CONF",
          "RES_OPTIONS",
          "TZDIR");

  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  public SpawnOptions {
    requireNonNull(args, "args");
    requireNonNull(env, "env");
    requireNonNull(limits, "limits");
  }

  /** The seccomp profile's name as reported by Inspect. */
  public String seccompName() {
    if (seccompFile != null) {
      return seccompFile;
    }
    return seccompBuiltin == null || seccompBuiltin.isEmpty() ? "default" : seccompBuiltin;
  }

  /**
   * Checks everything that does not need the host.
   *
   * @throws JailerException INVALID_ARGUMENT naming every faulty field
   */
  public void validate() {
    List<Violation> violations = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).indexOf('\0') >= 0) {
        violations.add(new Violation("args[" + i + "]", "contains a NUL character"));
      }
    }
    for (Map.Entry<String, String> variable : env.entrySet()) {
      String name = variable.getKey();
      String field = "env[" + name + "]";
      if (!IDENTIFIER.matcher(name).matches()) {
        violations.add(
            new Violation(field, "a variable name must match [A-Za-z_][A-Za-z0-9_]*"));
      } else if (RESERVED.contains(name)) {
        violations.add(new Violation(field, name + " is set by the jailer itself; leave it out"));
      } else if (name.startsWith("LD_") || name.startsWith("DYLD_") || INJECTION.contains(name)) {
        violations.add(
            new Violation(
                field,
                name + " changes how the dynamic loader or libc behaves and is never passed "
                    + "into a box; leave it out"));
      }
      if (variable.getValue().indexOf('\0') >= 0) {
        violations.add(new Violation(field, "the value contains a NUL character"));
      }
    }
    checkLimit(violations, "limits.memory_bytes", limits.memoryBytes());
    if (limits.memoryBytes() > 0 && limits.memoryBytes() < (4L << 20)) {
      violations.add(
          new Violation("limits.memory_bytes", "at least 4 MiB (4194304) or 0 for the default"));
    }
    checkLimit(violations, "limits.cpu_millis", limits.cpuMillis());
    checkLimit(violations, "limits.max_pids", limits.maxPids());
    checkLimit(violations, "limits.max_open_files", limits.maxOpenFiles());
    checkLimit(violations, "limits.max_file_size_bytes", limits.maxFileSizeBytes());
    checkLimit(violations, "limits.max_cpu_seconds", limits.maxCpuSeconds());
    checkLimit(violations, "limits.max_address_space_bytes", limits.maxAddressSpaceBytes());
    checkLimit(violations, "limits.max_core_bytes", limits.maxCoreBytes());
    if (seccompFile != null) {
      if (seccompFile.indexOf('\0') >= 0 || !Path.of(seccompFile).isAbsolute()) {
        violations.add(
            new Violation("seccomp.file", "must be an absolute path, got " + seccompFile));
      }
    }
    if (!violations.isEmpty()) {
      throw JailerException.invalidArguments(violations);
    }
  }

  private static void checkLimit(List<Violation> violations, String field, long value) {
    if (value < 0) {
      violations.add(new Violation(field, "must not be negative (0 takes the default)"));
    }
  }

  /** Fills every 0 field of the request from {@code defaults}. */
  public Limits effectiveLimits(Limits defaults) {
    return new Limits(
        pick(limits.memoryBytes(), defaults.memoryBytes()),
        pick(limits.cpuMillis(), defaults.cpuMillis()),
        pick(limits.maxPids(), defaults.maxPids()),
        pick(limits.maxOpenFiles(), defaults.maxOpenFiles()),
        pick(limits.maxFileSizeBytes(), defaults.maxFileSizeBytes()),
        pick(limits.maxCpuSeconds(), defaults.maxCpuSeconds()),
        pick(limits.maxAddressSpaceBytes(), defaults.maxAddressSpaceBytes()),
        pick(limits.maxCoreBytes(), defaults.maxCoreBytes()));
  }

  private static long pick(long requested, long fallback) {
    return requested != 0 ? requested : fallback;
  }
}
