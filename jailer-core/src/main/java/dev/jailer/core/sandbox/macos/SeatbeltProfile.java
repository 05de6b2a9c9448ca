package dev.jailer.core.sandbox.macos;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import java.nio.file.Path;
import java.util.List;

/**
 * The Seatbelt (SBPL) profile that confines one box's shim on macOS, together with the
 * parameters {@code sandbox-exec -D} must supply for it.
 *
 * <p><b>No path is ever part of the policy text.</b> Every host path (the grants, the masked
 * files and the shim) is referenced as {@code (param "NAME")} and travels as a separate
 * {@code -D NAME=value} argument. SBPL is a Scheme dialect: a path spliced into a string literal
 * would need escaping rules that are not documented, and a path holding {@code ")(allow default)(}
 * could rewrite the policy. With parameters, the text depends only on the <em>shape</em> of the
 * box (how many grants, which kind and access each has, whether networking is on), so two boxes
 * of the same shape get byte-identical profiles whatever their paths contain. Grant reasons are
 * not copied into comments either, for the same reason.
 *
 * <p>The profile is, in this order:
 *
 * <ol>
 *   <li>{@code (version 1)} and {@code (deny default)}: everything not allowed below is refused;
 *   <li>a fixed base for a Hypervisor.framework VMM such as libkrun: exec of the shim only, fork,
 *       signals to itself, sysctl reads, three named Mach services, read and executable mapping
 *       of the system libraries and the dyld shared cache, the time zone files, {@code /dev/null}
 *       and the random devices, and the creation of Unix domain sockets. No IOKit user client is
 *       opened: Hypervisor.framework reaches the kernel through its own traps, and what lets the
 *       shim use it is the {@code com.apple.security.hypervisor} entitlement in its code
 *       signature, not a sandbox rule;
 *   <li>one rule per grant, in grant order: {@code literal} for a file and {@code subpath} for a
 *       directory (which also matches the directory itself); {@code file-read*
 *       file-map-executable} for {@link Access#READ_ONLY} and {@code file-read* file-write*} for
 *       {@link Access#READ_WRITE}. Executable mapping is allowed from read-only grants only:
 *       libkrun and libkrunfw are {@code dlopen}ed from the read-only {@code bin/} and original
 *       shim directory, and macOS checks {@code mmap(PROT_EXEC)} against it, while code written
 *       into a read-write directory can never be mapped executable;
 *   <li>{@code file-read-metadata} of every grant's ancestors, because {@code realpath(3)} and
 *       anything that canonicalises a path {@code lstat}s each parent, and a refused parent
 *       makes a granted path unusable by that route. It reveals the existence of those
 *       directories, not their contents;
 *   <li>Unix sockets: bind, accept and connect for socket paths below read-write directory
 *       grants, with or without networking. The VMM's vsock and network back ends are Unix
 *       sockets in the box's {@code sockets/} directory; creating the socket file is already a
 *       file write, and this adds the socket operations on it. Sockets anywhere else (for
 *       example a daemon's socket under {@code /private/var/run}) stay unreachable while
 *       networking is off;
 *   <li>{@code (deny file-write* (literal ...))} for each read-write directory grant: the
 *       {@code subpath} rule also matches the directory itself, and without this the shim could
 *       remove or rename a granted directory and leave a symlink at its path;
 *   <li>masked files: {@code (deny file-read* file-map-executable (literal ...))} for each,
 *       after the grants because in SBPL a later rule wins over an earlier one. This is how the
 *       original shim directory's {@code libkrunfw.*} is hidden (DESIGN §1) so the box's own copy
 *       is the only one it can load;
 *   <li>only when networking is on: IPv4 and IPv6 sockets, inbound, outbound and bind of any
 *       address (the shim shares the host's network, as on Linux without a network namespace),
 *       the resolver configuration files and the Mach service that publishes DNS configuration.
 * </ol>
 *
 * <p>Parameter names are deterministic: {@code GRANT_0}, {@code GRANT_1}, ... in grant order,
 * then {@code MASK_0}, ... in mask order, then {@code SHIM}. Values are the canonical paths of
 * {@link SeatbeltPaths#canonicalize(String)}.
 *
 * <p>Instances are immutable; generation is a pure function of its arguments and touches
 * neither the file system nor the environment.
 */
public final class SeatbeltProfile {
  /** Parameter that holds the shim's canonical path. */
  public static final String SHIM_PARAMETER = "SHIM";

  /** Prefix of the parameters that hold grant paths, followed by the grant's index. */
  public static final String GRANT_PARAMETER_PREFIX = "GRANT_";

  /** Prefix of the parameters that hold masked file paths, followed by the mask's index. */
  public static final String MASK_PARAMETER_PREFIX = "MASK_";

  // Limitation: the base rules are checked under the real sandbox-exec only by the macOS-only
  // tests (SeatbeltSandboxExecTest, with a plain platform binary as the shim), never with a
  // libkrun shim booting a guest; a service such a shim needs and this list lacks shows up as a
  // "deny" line of the Sandbox kernel extension in the macOS unified log, and the box fails to
  // start instead of running with too much access.
  /**
   * Everything before the grants. Kept as one block so that a reviewer reads the fixed policy
   * exactly as the kernel gets it. Paths here are already in their {@code /private} form.
   */
  private static final String BASE =
      """
      (version 1)
      ; Jailer box profile. Host paths are parameters (sandbox-exec -D NAME=value), never text.
      (deny default)

      ; Process. sandbox-exec applies this profile to itself and then executes the shim, so that
      ; exec must be allowed; no other program may be executed. A VMM may fork helpers, and every
      ; child inherits this profile.
      (allow process-exec (literal (param "SHIM")))
      (allow file-read* (literal (param "SHIM")))
      (allow process-fork)
      (allow signal (target self))
      (allow process-info* (target self))

      ; Kernel information: CPU count, page and memory size, hypervisor support (kern.hv_support).
      ; Reading sysctls changes nothing.
      (allow sysctl-read)

      ; Mach services, a short named list. libinfo answers user and group lookups (getpwuid),
      ; the notification center is how libc learns of time zone changes, logd receives the
      ; unified log of system frameworks such as Hypervisor.framework.
      (allow mach-lookup
        (global-name "com.apple.system.opendirectoryd.libinfo")
        (global-name "com.apple.system.notification_center")
        (global-name "com.apple.logd"))

      ; IOKit: nothing. Hypervisor.framework enters the kernel through its own traps and is gated
      ; by the com.apple.security.hypervisor entitlement of the shim's code signature.

      ; System libraries and the dyld shared cache: /System/Library/dyld (macOS 11 and 12), the
      ; OS cryptex (macOS 13 and later, reached through /System/Cryptexes/OS or its Preboot
      ; path), /private/var/db/dyld (macOS 10.15 and earlier). /Library and /usr/local are left
      ; out: what the shim loads from outside the system comes from its own grants.
      (allow file-read* file-map-executable
        (subpath "/usr/lib")
        (subpath "/System/Library")
        (subpath "/System/Cryptexes/OS")
        (subpath "/System/Volumes/Preboot/Cryptexes/OS"))
      (allow file-read* (subpath "/private/var/db/dyld"))
      (allow file-read-metadata
        (literal "/")
        (path-ancestors "/System/Volumes/Preboot/Cryptexes/OS"))

      ; Time zone: localtime(3) follows /etc/localtime into the time zone database.
      (allow file-read*
        (literal "/private/etc/localtime")
        (subpath "/private/var/db/timezone")
        (subpath "/usr/share/zoneinfo"))

      ; Devices: a sink and randomness. stdin, stdout and stderr arrive as open descriptors and
      ; need no rule.
      (allow file-read* file-write-data (literal "/dev/null"))
      (allow file-read*
        (literal "/dev/zero")
        (literal "/dev/random")
        (literal "/dev/urandom"))

      ; Unix domain sockets may be created; where they may be bound or connected is below.
      (allow system-socket (socket-domain AF_UNIX))
      """;

  /** The networking block, appended only when the box asked for the host's network. */
  private static final String NETWORK =
      """

      ; Network: on for this box. The shim shares the host's network, like a Linux box without a
      ; network namespace: IPv4 and IPv6 sockets, bind, inbound and outbound to any address,
      ; and any Unix socket. Other socket families (AF_SYSTEM, AF_ROUTE, AF_NDRV) stay closed.
      (allow system-socket (socket-domain AF_INET) (socket-domain AF_INET6))
      (allow network-bind)
      (allow network-inbound)
      (allow network-outbound)
      ; Name resolution: libinfo reads the DNS configuration from configd and asks mDNSResponder
      ; over its Unix socket (covered by network-outbound above).
      (allow mach-lookup (global-name "com.apple.SystemConfiguration.DNSConfiguration"))
      (allow file-read*
        (literal "/private/etc/hosts")
        (literal "/private/etc/resolv.conf")
        (literal "/private/var/run/resolv.conf")
        (literal "/private/etc/services")
        (literal "/private/etc/protocols"))
      """;

  private final String text;
  private final ImmutableMap<String, String> parameters;
  private final String shimPath;

  private SeatbeltProfile(String text, ImmutableMap<String, String> parameters, String shimPath) {
    this.text = text;
    this.parameters = parameters;
    this.shimPath = shimPath;
  }

  /**
   * Generates the profile for a box with no masked files; see {@link #generate(List, List,
   * boolean, Path)}.
   */
  public static SeatbeltProfile generate(List<PathGrant> grants, boolean network, Path shim) {
    return generate(grants, ImmutableList.of(), network, shim);
  }

  /**
   * Generates the profile for one box.
   *
   * @param grants the box's path grants, in the order their rules and {@code GRANT_n}
   *     parameters are to appear; duplicates are kept (they are harmless)
   * @param masked files that must stay unreadable even though a grant covers them (the original
   *     shim directory's {@code libkrunfw.*}); each becomes a deny rule after all grants. The
   *     sandbox matches the path a symlink resolves to, so a symlink's target must be listed
   *     too, not only the link
   * @param network whether the box shares the host's network
   * @param shim absolute path of the staged shim, the one program the sandbox may execute
   * @return the profile text and its parameters; same arguments, same result
   * @throws NullPointerException if an argument or element is null
   * @throws IllegalArgumentException if a path is not absolute and normalised or holds a NUL
   *     character ({@link SeatbeltPaths#canonicalize(String)})
   */
  public static SeatbeltProfile generate(
      List<PathGrant> grants, List<Path> masked, boolean network, Path shim) {
    requireNonNull(grants, "grants");
    requireNonNull(masked, "masked");
    requireNonNull(shim, "shim");
    // Canonicalise everything before writing anything, so a bad path fails the whole call.
    ImmutableList<String> grantPaths =
        grants.stream()
            .map(g -> SeatbeltPaths.canonicalize(requireNonNull(g, "grant").path()))
            .collect(ImmutableList.toImmutableList());
    ImmutableList<String> maskPaths =
        masked.stream().map(SeatbeltPaths::canonicalize).collect(ImmutableList.toImmutableList());
    String shimPath = SeatbeltPaths.canonicalize(shim);

    StringBuilder text = new StringBuilder(BASE);
    ImmutableMap.Builder<String, String> parameters = ImmutableMap.builder();
    appendGrants(text, grants);
    appendAncestors(text, grants.size());
    appendSockets(text, grants);
    appendPinnedDirectories(text, grants);
    appendMasks(text, maskPaths.size());
    if (network) {
      text.append(NETWORK);
    }

    for (int i = 0; i < grantPaths.size(); i++) {
      parameters.put(GRANT_PARAMETER_PREFIX + i, grantPaths.get(i));
    }
    for (int i = 0; i < maskPaths.size(); i++) {
      parameters.put(MASK_PARAMETER_PREFIX + i, maskPaths.get(i));
    }
    parameters.put(SHIM_PARAMETER, shimPath);
    return new SeatbeltProfile(text.toString(), parameters.buildOrThrow(), shimPath);
  }

  private static void appendGrants(StringBuilder text, List<PathGrant> grants) {
    text.append("\n; Path grants, one rule each in the box's order. subpath covers a directory and")
        .append(" everything\n; below it, literal exactly one file.\n");
    if (grants.isEmpty()) {
      text.append("; (none)\n");
    }
    for (int i = 0; i < grants.size(); i++) {
      PathGrant grant = grants.get(i);
      String operations =
          grant.access() == Access.READ_WRITE
              ? "file-read* file-write*"
              : "file-read* file-map-executable";
      text.append("(allow ")
          .append(operations)
          .append(' ')
          .append(pathFilter(grant.directory(), GRANT_PARAMETER_PREFIX + i))
          .append(")\n");
    }
  }

  private static void appendAncestors(StringBuilder text, int grantCount) {
    if (grantCount == 0) {
      return;
    }
    text.append("\n; The parents of every grant may be looked at (not listed or read), so that")
        .append(" realpath(3)\n; and friends can walk down to a granted path.\n")
        .append("(allow file-read-metadata");
    for (int i = 0; i < grantCount; i++) {
      text.append("\n  (path-ancestors (param \"")
          .append(GRANT_PARAMETER_PREFIX)
          .append(i)
          .append("\"))");
    }
    text.append(")\n");
  }

  private static void appendSockets(StringBuilder text, List<PathGrant> grants) {
    text.append("\n; Unix sockets of the VMM: bound, accepted and connected only below read-write")
        .append(" directory\n; grants, whether or not networking is on.\n");
    boolean any = false;
    for (int i = 0; i < grants.size(); i++) {
      PathGrant grant = grants.get(i);
      if (grant.access() != Access.READ_WRITE || !grant.directory()) {
        continue;
      }
      String name = GRANT_PARAMETER_PREFIX + i;
      text.append("(allow network-bind network-inbound (local unix-socket (subpath (param \"")
          .append(name)
          .append("\"))))\n")
          .append("(allow network-outbound (remote unix-socket (subpath (param \"")
          .append(name)
          .append("\"))))\n");
      any = true;
    }
    if (!any) {
      text.append("; (no read-write directory grant)\n");
    }
  }

  private static void appendPinnedDirectories(StringBuilder text, List<PathGrant> grants) {
    // subpath also matches the directory itself, so file-write* on it would let the shim remove
    // or rename a granted directory and put a symlink in its place, at a path the jailer's side
    // of the box still uses (bwrap on Linux prevents this by making each grant a mount point).
    // Creating and changing entries inside is checked against the entry's own path, so denying
    // the directory's literal path takes nothing away from its contents.
    boolean any = false;
    for (int i = 0; i < grants.size(); i++) {
      PathGrant grant = grants.get(i);
      if (grant.access() != Access.READ_WRITE || !grant.directory()) {
        continue;
      }
      if (!any) {
        text.append("\n; Read-write directories themselves stay in place: what is inside may")
            .append(" change, the\n; directory may not be removed, renamed or replaced.\n");
        any = true;
      }
      text.append("(deny file-write* ")
          .append(pathFilter(false, GRANT_PARAMETER_PREFIX + i))
          .append(")\n");
    }
  }

  private static void appendMasks(StringBuilder text, int maskCount) {
    if (maskCount == 0) {
      return;
    }
    text.append("\n; Masked files: unreadable even below a grant. They come after the grants")
        .append(" because a later\n; rule wins.\n");
    for (int i = 0; i < maskCount; i++) {
      text.append("(deny file-read* file-map-executable ")
          .append(pathFilter(false, MASK_PARAMETER_PREFIX + i))
          .append(")\n");
    }
  }

  private static String pathFilter(boolean directory, String parameter) {
    return "(" + (directory ? "subpath" : "literal") + " (param \"" + parameter + "\"))";
  }

  /** The SBPL profile text; contains no host path, only {@code (param "NAME")} references. */
  public String text() {
    return text;
  }

  /**
   * The parameters the profile references, name to canonical path, in the order {@code GRANT_n},
   * {@code MASK_n}, {@code SHIM}. Every name the text references is present, and no other.
   */
  public ImmutableMap<String, String> parameters() {
    return parameters;
  }

  /** The shim's canonical path: the program {@code sandbox-exec} is to execute. */
  public String shimPath() {
    return shimPath;
  }

  @Override
  public String toString() {
    return "SeatbeltProfile{parameters=" + parameters + "}";
  }
}
