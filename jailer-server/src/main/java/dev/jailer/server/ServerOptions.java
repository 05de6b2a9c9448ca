package dev.jailer.server;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.sun.security.auth.module.UnixSystem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Level;
import java.util.regex.Pattern;

/**
 * The server's configuration, parsed from its command line. Immutable.
 *
 * <p>{@link #parse} checks each flag on its own (syntax, absolute paths, ranges) and flags
 * against each other (the three TLS files go together; one way to pick the box user). Whether a
 * listener is allowed (loopback or mutual TLS, safe socket directory) is checked when the server
 * starts, because it depends on the host. {@link #helpText()} describes every flag.
 */
public final class ServerOptions {
  /** Where the state lives when the server runs as root. */
  static final Path ROOT_STATE_DIR = Path.of("/var/lib/jailer");

  /** The box user when neither {@code --box-user} nor {@code --box-uid-range} is given. */
  public static final String DEFAULT_BOX_USER = "nobody";

  /** {@code --shutdown-grace} when not given. */
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);

  /** {@code --cgroup-parent} when not given. */
  public static final String DEFAULT_CGROUP_PARENT = "jailer";

  private static final Pattern CGROUP_NAME =
      Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*");
  private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?");
  private static final Pattern UID_RANGE = Pattern.compile("(\\d{1,10})-(\\d{1,10})");
  private static final ImmutableMap<String, Level> LOG_LEVELS =
      ImmutableMap.<String, Level>builder()
          .put("OFF", Level.OFF)
          .put("SEVERE", Level.SEVERE)
          .put("ERROR", Level.SEVERE)
          .put("WARNING", Level.WARNING)
          .put("WARN", Level.WARNING)
          .put("INFO", Level.INFO)
          .put("CONFIG", Level.CONFIG)
          .put("FINE", Level.FINE)
          .put("DEBUG", Level.FINE)
          .put("FINER", Level.FINER)
          .put("FINEST", Level.FINEST)
          .put("TRACE", Level.FINEST)
          .put("ALL", Level.ALL)
          .buildOrThrow();

  /** A range of host uids, one per box; never includes 0. */
  public record UidRange(int first, int last) {
    /** Checks {@code 1 <= first <= last}; throws {@link IllegalArgumentException} otherwise. */
    public UidRange {
      if (first < 1 || last < first) {
        throw new IllegalArgumentException("need 1 <= FIRST <= LAST, got " + first + "-" + last);
      }
    }

    /** How many uids the range holds. */
    public long size() {
      return (long) last - first + 1;
    }

    @Override
    public String toString() {
      return first + "-" + last;
    }
  }

  /** Every flag, in the order {@link #helpText()} lists them. */
  enum Flag {
    STATE_DIR(
        "--state-dir",
        "DIR",
        false,
        "directory for boxes and the default socket",
        "/var/lib/jailer as root, else $XDG_STATE_HOME/jailer or ~/.local/state/jailer"),
    LISTEN(
        "--listen",
        "ADDR",
        true,
        "where to listen: unix:/abs/path or host:port ([::1]:port for IPv6); repeatable",
        "unix:<state-dir>/run/jailer.sock"),
    ALLOW_SHIM_DIR(
        "--allow-shim-dir", "DIR", true, "directory shims may be staged from; repeatable", "none"),
    ALLOW_VOLUME_ROOT(
        "--allow-volume-root",
        "DIR",
        true,
        "directory below which volumes may be granted; repeatable",
        "none"),
    ALLOW_SECCOMP_DIR(
        "--allow-seccomp-dir",
        "DIR",
        true,
        "directory seccomp profile files may be read from; repeatable",
        "none"),
    TLS_CERT(
        "--tls-cert", "FILE", false, "server certificate chain (PEM) for TCP listeners", "none"),
    TLS_KEY("--tls-key", "FILE", false, "private key (PKCS#8 PEM) of --tls-cert", "none"),
    TLS_CLIENT_CA(
        "--tls-client-ca",
        "FILE",
        false,
        "CA bundle (PEM) client certificates must chain to (mutual TLS)",
        "none"),
    INSECURE_LOOPBACK_TCP(
        "--insecure-loopback-tcp",
        null,
        false,
        "allow plaintext TCP on loopback addresses (every local user can connect)",
        "off"),
    CGROUP_PARENT(
        "--cgroup-parent",
        "NAME",
        false,
        "cgroup under which each box gets its own cgroup",
        DEFAULT_CGROUP_PARENT),
    BOX_USER(
        "--box-user",
        "USER",
        false,
        "unprivileged host user every box runs as; excludes --box-uid-range",
        DEFAULT_BOX_USER),
    BOX_UID_RANGE(
        "--box-uid-range",
        "FIRST-LAST",
        false,
        "give each box its own host uid from this range; excludes --box-user",
        "unset"),
    DEVELOPMENT(
        "--development", null, false, "run boxes WITHOUT a sandbox; never in production", "off"),
    SHUTDOWN_GRACE(
        "--shutdown-grace",
        "SECONDS",
        false,
        "how long a stop waits for calls in flight before cancelling them",
        Long.toString(DEFAULT_SHUTDOWN_GRACE.toSeconds())),
    LOG_LEVEL(
        "--log-level",
        "LEVEL",
        false,
        "SEVERE, WARNING, INFO, FINE (per-call lines), FINER or FINEST",
        "INFO"),
    HELP("--help", null, false, "print this help and exit", "");

    final String name;
    final String valueName;
    final boolean repeatable;
    final String description;
    final String defaultText;

    Flag(
        String name,
        String valueName,
        boolean repeatable,
        String description,
        String defaultText) {
      this.name = name;
      this.valueName = valueName;
      this.repeatable = repeatable;
      this.description = description;
      this.defaultText = defaultText;
    }

    boolean takesValue() {
      return valueName != null;
    }

    static Optional<Flag> named(String name) {
      for (Flag flag : values()) {
        if (flag.name.equals(name)) {
          return Optional.of(flag);
        }
      }
      return Optional.empty();
    }
  }

  private final boolean helpRequested;
  private final Path stateDir;
  private final ImmutableList<ListenAddress> listenAddresses;
  private final ImmutableList<Path> allowedShimDirs;
  private final ImmutableList<Path> allowedVolumeRoots;
  private final ImmutableList<Path> allowedSeccompDirs;
  private final Path tlsCert;
  private final Path tlsKey;
  private final Path tlsClientCa;
  private final boolean insecureLoopbackTcp;
  private final String cgroupParent;
  private final String boxUser;
  private final UidRange boxUidRange;
  private final boolean development;
  private final Duration shutdownGrace;
  private final Level logLevel;

  private ServerOptions(Map<Flag, List<String>> values, Path defaultStateDir)
      throws InvalidFlagException {
    this.helpRequested = false;
    Path givenStateDir = optionalPath(values, Flag.STATE_DIR);
    if (givenStateDir == null && defaultStateDir == null) {
      throw new InvalidFlagException(
          "--state-dir is required: neither XDG_STATE_HOME nor HOME gives a default");
    }
    this.stateDir = givenStateDir != null ? givenStateDir : defaultStateDir;
    ImmutableList<ListenAddress> given = listen(values.getOrDefault(Flag.LISTEN, List.of()));
    this.listenAddresses =
        given.isEmpty()
            ? ImmutableList.of(ListenAddress.unix(stateDir.resolve("run").resolve("jailer.sock")))
            : given;
    this.allowedShimDirs = paths(Flag.ALLOW_SHIM_DIR, values);
    this.allowedVolumeRoots = paths(Flag.ALLOW_VOLUME_ROOT, values);
    this.allowedSeccompDirs = paths(Flag.ALLOW_SECCOMP_DIR, values);
    this.tlsCert = optionalPath(values, Flag.TLS_CERT);
    this.tlsKey = optionalPath(values, Flag.TLS_KEY);
    this.tlsClientCa = optionalPath(values, Flag.TLS_CLIENT_CA);
    checkTls();
    this.insecureLoopbackTcp = values.containsKey(Flag.INSECURE_LOOPBACK_TCP);
    this.cgroupParent = cgroupParent(single(values, Flag.CGROUP_PARENT));
    Optional<String> user = single(values, Flag.BOX_USER);
    Optional<String> range = single(values, Flag.BOX_UID_RANGE);
    if (user.isPresent() && range.isPresent()) {
      throw new InvalidFlagException(
          "--box-user and --box-uid-range are mutually exclusive: give one of them");
    }
    this.boxUidRange = range.isPresent() ? uidRange(range.get()) : null;
    this.boxUser = range.isPresent() ? null : boxUser(user.orElse(DEFAULT_BOX_USER));
    this.development = values.containsKey(Flag.DEVELOPMENT);
    this.shutdownGrace = grace(single(values, Flag.SHUTDOWN_GRACE));
    this.logLevel = logLevel(single(values, Flag.LOG_LEVEL));
  }

  private ServerOptions() {
    this.helpRequested = true;
    this.stateDir = ROOT_STATE_DIR;
    this.listenAddresses = ImmutableList.of();
    this.allowedShimDirs = ImmutableList.of();
    this.allowedVolumeRoots = ImmutableList.of();
    this.allowedSeccompDirs = ImmutableList.of();
    this.tlsCert = null;
    this.tlsKey = null;
    this.tlsClientCa = null;
    this.insecureLoopbackTcp = false;
    this.cgroupParent = DEFAULT_CGROUP_PARENT;
    this.boxUser = DEFAULT_BOX_USER;
    this.boxUidRange = null;
    this.development = false;
    this.shutdownGrace = DEFAULT_SHUTDOWN_GRACE;
    this.logLevel = Level.INFO;
  }

  /**
   * Parses the command line of this process: defaults depend on whether it runs as root and on
   * {@code XDG_STATE_HOME} and {@code HOME}.
   *
   * @throws InvalidFlagException with a one-line message naming the flag at fault
   */
  public static ServerOptions parse(String... args) throws InvalidFlagException {
    return parse(List.of(args), new UnixSystem().getUid(), System.getenv());
  }

  /**
   * Parses {@code args} as if run by {@code uid} with environment {@code env} (which supplies
   * {@code XDG_STATE_HOME} and {@code HOME} for the default state directory). When
   * {@code --help} or {@code -h} appears anywhere, returns options whose
   * {@link #helpRequested()} is true and checks nothing else.
   *
   * @throws InvalidFlagException with a one-line message naming the flag at fault
   */
  static ServerOptions parse(List<String> args, long uid, Map<String, String> env)
      throws InvalidFlagException {
    if (args.contains("--help") || args.contains("-h")) {
      return new ServerOptions();
    }
    Map<Flag, List<String>> values = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("--")) {
        throw new InvalidFlagException(
            "unexpected argument '" + arg + "': every option is a --flag");
      }
      int equals = arg.indexOf('=');
      String name = equals < 0 ? arg : arg.substring(0, equals);
      Flag flag =
          Flag.named(name)
              .orElseThrow(() -> new InvalidFlagException("unknown flag " + name));
      String value;
      if (!flag.takesValue()) {
        if (equals >= 0) {
          throw new InvalidFlagException(flag.name + " takes no value");
        }
        value = "";
      } else if (equals >= 0) {
        value = arg.substring(equals + 1);
      } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
        value = args.get(++i);
      } else {
        throw new InvalidFlagException(flag.name + " needs a value (" + flag.valueName + ")");
      }
      List<String> seen = values.computeIfAbsent(flag, f -> new ArrayList<>());
      if (!seen.isEmpty() && !flag.repeatable) {
        throw new InvalidFlagException(flag.name + " is given more than once");
      }
      seen.add(value);
    }
    return new ServerOptions(values, defaultStateDir(uid, env));
  }

  /**
   * The state directory when {@code --state-dir} is not given: {@code /var/lib/jailer} for
   * root; otherwise {@code $XDG_STATE_HOME/jailer} when that variable holds an absolute path
   * (the XDG rule: a relative value is ignored), else {@code $HOME/.local/state/jailer}; null
   * when neither is usable.
   */
  static Path defaultStateDir(long uid, Map<String, String> env) {
    if (uid == 0) {
      return ROOT_STATE_DIR;
    }
    String xdg = env.get("XDG_STATE_HOME");
    if (xdg != null && xdg.startsWith("/")) {
      return Path.of(xdg, "jailer").normalize();
    }
    String home = env.get("HOME");
    if (home != null && home.startsWith("/")) {
      return Path.of(home, ".local", "state", "jailer").normalize();
    }
    return null;
  }

  /**
   * Every flag, one per line: the flag and its value name, a one-line description and the
   * default.
   */
  public static String helpText() {
    StringBuilder text = new StringBuilder();
    text.append("Usage: jailer-server [FLAGS]\n\n");
    text.append("Runs the Jailer gRPC service (jailer.v1.Jailer).\n\n");
    for (Flag flag : Flag.values()) {
      String left = flag.name + (flag.takesValue() ? " " + flag.valueName : "");
      String line = String.format(Locale.ROOT, "  %-28s %s", left, flag.description);
      if (!flag.defaultText.isEmpty()) {
        String defaultPart = "(default: " + flag.defaultText + ")";
        // Keeps the help within 100 columns: a long default goes on a line of its own.
        line += line.length() + 1 + defaultPart.length() <= 100
            ? " " + defaultPart
            : "\n" + " ".repeat(31) + defaultPart;
      }
      text.append(line).append('\n');
    }
    text.append("\nExit status: 0 after a normal stop (SIGTERM, SIGINT), 1 when the server");
    text.append(" cannot start,\n2 for a bad flag.\n");
    return text.toString();
  }

  private static Optional<String> single(Map<Flag, List<String>> values, Flag flag) {
    List<String> list = values.get(flag);
    return list == null ? Optional.empty() : Optional.of(list.get(0));
  }

  private static Path path(Flag flag, String value) throws InvalidFlagException {
    if (!value.startsWith("/")) {
      throw new InvalidFlagException(flag.name + " needs an absolute path, got '" + value + "'");
    }
    return Path.of(value).normalize();
  }

  private static Path optionalPath(Map<Flag, List<String>> values, Flag flag)
      throws InvalidFlagException {
    Optional<String> value = single(values, flag);
    return value.isEmpty() ? null : path(flag, value.get());
  }

  private static ImmutableList<Path> paths(Flag flag, Map<Flag, List<String>> values)
      throws InvalidFlagException {
    Set<Path> paths = new LinkedHashSet<>();
    for (String value : values.getOrDefault(flag, List.of())) {
      paths.add(path(flag, value));
    }
    return ImmutableList.copyOf(paths);
  }

  private static ImmutableList<ListenAddress> listen(List<String> values)
      throws InvalidFlagException {
    Set<ListenAddress> addresses = new LinkedHashSet<>();
    for (String value : values) {
      try {
        addresses.add(ListenAddress.parse(value));
      } catch (IllegalArgumentException e) {
        throw new InvalidFlagException("--listen " + e.getMessage());
      }
    }
    return ImmutableList.copyOf(addresses);
  }

  private static String cgroupParent(Optional<String> value) throws InvalidFlagException {
    String name = value.orElse(DEFAULT_CGROUP_PARENT);
    String wrapped = "/" + name + "/";
    boolean dotComponent = wrapped.contains("/../") || wrapped.contains("/./");
    if (!CGROUP_NAME.matcher(name).matches() || dotComponent) {
      throw new InvalidFlagException(
          "--cgroup-parent '"
              + name
              + "' is not a relative cgroup name (letters, digits, '_', '.', '-', '/' between"
              + " parts)");
    }
    return name;
  }

  private static String boxUser(String user) throws InvalidFlagException {
    if (!USER_NAME.matcher(user).matches()) {
      throw new InvalidFlagException("--box-user '" + user + "' is not a user name or uid");
    }
    if (user.equals("root") || user.matches("0+")) {
      throw new InvalidFlagException(
          "--box-user must be an unprivileged user: boxes never run as root");
    }
    return user;
  }

  private static UidRange uidRange(String value) throws InvalidFlagException {
    var m = UID_RANGE.matcher(value);
    if (!m.matches()) {
      throw new InvalidFlagException(
          "--box-uid-range '" + value + "' is not FIRST-LAST, e.g. 100000-165535");
    }
    long first = Long.parseLong(m.group(1));
    long last = Long.parseLong(m.group(2));
    if (first == 0) {
      throw new InvalidFlagException("--box-uid-range must not include uid 0 (root)");
    }
    if (last > Integer.MAX_VALUE || first > last) {
      throw new InvalidFlagException(
          "--box-uid-range '" + value + "' needs FIRST <= LAST <= " + Integer.MAX_VALUE);
    }
    return new UidRange((int) first, (int) last);
  }

  private static Duration grace(Optional<String> value) throws InvalidFlagException {
    if (value.isEmpty()) {
      return DEFAULT_SHUTDOWN_GRACE;
    }
    try {
      long seconds = Long.parseLong(value.get());
      if (seconds >= 0 && seconds <= 86_400) {
        return Duration.ofSeconds(seconds);
      }
    } catch (NumberFormatException e) {
      // Falls through to the one message for every malformed value.
    }
    throw new InvalidFlagException(
        "--shutdown-grace '" + value.get() + "' is not a whole number of seconds in 0-86400");
  }

  private static Level logLevel(Optional<String> value) throws InvalidFlagException {
    if (value.isEmpty()) {
      return Level.INFO;
    }
    Level level = LOG_LEVELS.get(value.get().toUpperCase(Locale.ROOT));
    if (level == null) {
      throw new InvalidFlagException(
          "--log-level '" + value.get() + "' is not one of " + LOG_LEVELS.keySet());
    }
    return level;
  }

  private void checkTls() throws InvalidFlagException {
    boolean any = tlsCert != null || tlsKey != null || tlsClientCa != null;
    if (!any || (tlsCert != null && tlsKey != null && tlsClientCa != null)) {
      return;
    }
    List<String> missing = new ArrayList<>();
    if (tlsCert == null) {
      missing.add(Flag.TLS_CERT.name);
    }
    if (tlsKey == null) {
      missing.add(Flag.TLS_KEY.name);
    }
    if (tlsClientCa == null) {
      missing.add(Flag.TLS_CLIENT_CA.name);
    }
    throw new InvalidFlagException(
        "--tls-cert, --tls-key and --tls-client-ca go together (mutual TLS); missing: "
            + String.join(", ", missing));
  }

  /** True when {@code --help} was given; every other accessor then returns its default. */
  public boolean helpRequested() {
    return helpRequested;
  }

  /** The state directory: {@code --state-dir}, else the default for this user. Absolute. */
  public Path stateDir() {
    return stateDir;
  }

  /** Where to listen, in the order given; never empty (the default socket when none given). */
  public List<ListenAddress> listenAddresses() {
    return listenAddresses;
  }

  /** Directories shims may be staged from ({@code --allow-shim-dir}); absolute, normalized. */
  public List<Path> allowedShimDirs() {
    return allowedShimDirs;
  }

  /** Roots volumes may lie below ({@code --allow-volume-root}); absolute, normalized. */
  public List<Path> allowedVolumeRoots() {
    return allowedVolumeRoots;
  }

  /** Directories seccomp profile files may come from ({@code --allow-seccomp-dir}). */
  public List<Path> allowedSeccompDirs() {
    return allowedSeccompDirs;
  }

  /**
   * The mutual TLS material for TCP listeners, present only when all three of
   * {@code --tls-cert}, {@code --tls-key} and {@code --tls-client-ca} were given.
   */
  public Optional<TlsFiles> tls() {
    return tlsCert == null
        ? Optional.empty()
        : Optional.of(new TlsFiles(tlsCert, tlsKey, tlsClientCa));
  }

  /** The three files of mutual TLS, all absolute. */
  public record TlsFiles(Path cert, Path key, Path clientCa) {}

  /** True when {@code --insecure-loopback-tcp} allows plaintext TCP on loopback addresses. */
  public boolean insecureLoopbackTcp() {
    return insecureLoopbackTcp;
  }

  /** The cgroup under which each box gets its own ({@code --cgroup-parent}), relative. */
  public String cgroupParent() {
    return cgroupParent;
  }

  /**
   * The one host user every box runs as ({@code --box-user}, default {@code nobody}); empty
   * when {@link #boxUidRange()} is set instead. Never root.
   */
  public Optional<String> boxUser() {
    return Optional.ofNullable(boxUser);
  }

  /** The uid range from which each box gets its own uid; empty when {@link #boxUser()} is set. */
  public Optional<UidRange> boxUidRange() {
    return Optional.ofNullable(boxUidRange);
  }

  /** True in development mode: boxes run without a sandbox. */
  public boolean development() {
    return development;
  }

  /** How long a stop waits for calls in flight before cancelling them. */
  public Duration shutdownGrace() {
    return shutdownGrace;
  }

  /** The level of the server's own loggers ({@code dev.jailer}). */
  public Level logLevel() {
    return logLevel;
  }
}
