package dev.jailer.core.seccomp;

import static java.util.Objects.requireNonNull;

import com.google.common.annotations.VisibleForTesting;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.jailer.core.JailerException;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where seccomp profiles come from: Jailer's built-in profiles and OCI/Docker seccomp JSON files.
 *
 * <p>Both return a {@link SeccompProfile}; nothing here touches the kernel or libseccomp.
 */
public final class SeccompProfiles {
  private static final Logger logger = Logger.getLogger(SeccompProfiles.class.getName());

  /** Request field that built-in profile names are reported under. */
  public static final String BUILTIN_FIELD = "seccomp.builtin";

  /** Request field that profile file problems are reported under. */
  public static final String FILE_FIELD = "seccomp.file";

  /** Name of the built-in allowlist for VMM shims. */
  public static final String DEFAULT = "default";

  private static final ImmutableList<String> BUILTIN_NAMES = ImmutableList.of(DEFAULT);

  private static final ImmutableSet<String> TOP_LEVEL_KEYS = ImmutableSet.of(
      "defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
      "listenerPath", "listenerMetadata");
  private static final ImmutableSet<String> RULE_KEYS = ImmutableSet.of(
      "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes");
  private static final ImmutableSet<String> ARG_KEYS =
      ImmutableSet.of("index", "value", "valueTwo", "op");
  private static final ImmutableSet<String> FILTER_KEYS =
      ImmutableSet.of("caps", "arches", "minKernel");

  // What the kernel spells as a system call name; anything else is a typo or garbage.
  private static final Pattern SYSCALL_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,63}");
  private static final Pattern KERNEL_VERSION = Pattern.compile("^(\\d+)\\.(\\d+)");
  private static final BigInteger MAX_U64 = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

  /**
   * What {@code includes}/{@code excludes} filters of Docker-style profiles are evaluated
   * against.
   *
   * @param goArch the host architecture as Docker names it (Go's GOARCH: {@code amd64},
   *     {@code arm64}, …)
   * @param kernelMajor major version of the running kernel
   * @param kernelMinor minor version of the running kernel
   */
  @VisibleForTesting
  record Host(String goArch, int kernelMajor, int kernelMinor) {
    static Host current() {
      String arch = System.getProperty("os.arch", "");
      String goArch = switch (arch) {
        case "amd64", "x86_64" -> "amd64";
        case "aarch64", "arm64" -> "arm64";
        case "x86", "i386", "i686" -> "386";
        default -> arch;
      };
      Matcher m = KERNEL_VERSION.matcher(System.getProperty("os.version", ""));
      if (!m.find()) {
        return new Host(goArch, 0, 0);
      }
      return new Host(goArch, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }
  }

  private SeccompProfiles() {}

  /**
   * Returns a built-in profile. {@code "default"} (also the empty name) is an allowlist for a
   * VMM shim whose default action kills the process; see the source of {@code DefaultProfile}
   * for each group of system calls and why it is there.
   *
   * @throws JailerException INVALID_ARGUMENT ({@code seccomp.builtin}) for an unknown name; the
   *     message lists the known names
   */
  public static SeccompProfile builtin(String name) {
    requireNonNull(name, "name");
    if (name.isEmpty() || name.equals(DEFAULT)) {
      return DefaultProfileHolder.PROFILE;
    }
    throw JailerException.invalidArgument(BUILTIN_FIELD,
        "unknown built-in seccomp profile \"" + name + "\"; known profiles: "
            + String.join(", ", BUILTIN_NAMES) + " (an empty name means \"default\")");
  }

  /** The names {@link #builtin(String)} accepts, besides the empty name. */
  public static ImmutableList<String> builtinNames() {
    return BUILTIN_NAMES;
  }

  /**
   * Parses an OCI/Docker seccomp profile ({@code defaultAction}, {@code defaultErrnoRet},
   * {@code architectures}, {@code archMap}, {@code syscalls[]} with {@code names} or the older
   * {@code name}, {@code action}, {@code errnoRet}, {@code args}, {@code includes},
   * {@code excludes}).
   *
   * <p>Choices where the format leaves room:
   * <ul>
   *   <li>{@code SCMP_ACT_NOTIFY}, {@code SCMP_ACT_TRACE}, {@code listenerPath} and non-empty
   *       {@code flags} are refused: bwrap installs a plain filter and has no supervisor or
   *       tracer to hand calls to.
   *   <li>{@code SCMP_ACT_ERRNO} without {@code errnoRet} returns EPERM (as runc does).
   *   <li>{@code includes}/{@code excludes} are evaluated as Docker does, with the shim holding no
   *       capabilities (bwrap drops them all): a rule that includes capabilities is left out, a
   *       rule that excludes them is kept. {@code arches} is compared with the host's
   *       architecture in Docker's spelling ({@code amd64}, {@code arm64}), {@code minKernel}
   *       with the running kernel.
   *   <li>Unknown keys are refused, so a misspelt {@code errnoRet} cannot silently turn into
   *       EPERM. A system call name must look like one ({@code [a-z_][a-z0-9_]*}); whether this
   *       host knows it is decided by {@link SeccompCompiler}, which skips unknown names as runc
   *       does, so one profile serves kernels old and new.
   *   <li>{@code architectures} is kept for display; the compiled filter covers the native
   *       architecture only.
   * </ul>
   *
   * @param json the file's content
   * @param source the file's name, used as the profile's name and in every message
   * @throws JailerException INVALID_ARGUMENT ({@code seccomp.file}) for malformed JSON, a
   *     missing or unknown action, a refused feature or a malformed rule; the message names the
   *     file, the rule index and what to change
   */
  public static SeccompProfile parseOci(String json, String source) {
    return parseOci(json, source, Host.current());
  }

  @VisibleForTesting
  static SeccompProfile parseOci(String json, String source, Host host) {
    requireNonNull(json, "json");
    requireNonNull(source, "source");
    return new OciParser(source, host).parse(json);
  }

  // Initialised on first use, so that a server that never uses it does not build it.
  private static final class DefaultProfileHolder {
    static final SeccompProfile PROFILE = DefaultProfile.create();
  }

  private static final class OciParser {
    private final String source;
    private final Host host;

    OciParser(String source, Host host) {
      this.source = source;
      this.host = host;
    }

    SeccompProfile parse(String json) {
      JsonObject root = readObject(json);
      checkKeys(root, TOP_LEVEL_KEYS, "the top level");

      if (root.has("listenerPath") && !isEmpty(root.get("listenerPath"))) {
        throw fail("\"listenerPath\" is refused: seccomp notify needs a supervisor that Jailer"
            + " does not run; remove it and use SCMP_ACT_ERRNO or SCMP_ACT_KILL_PROCESS rules");
      }
      if (root.has("flags") && !isEmpty(root.get("flags"))) {
        throw fail("\"flags\" is refused: bwrap installs the filter without seccomp flags;"
            + " remove \"flags\"");
      }

      if (!root.has("defaultAction")) {
        throw fail("\"defaultAction\" is missing; add \"defaultAction\": "
            + "\"SCMP_ACT_KILL_PROCESS\" (or another action)");
      }
      Integer defaultErrno = root.has("defaultErrnoRet")
          ? errnoValue(root.get("defaultErrnoRet"), "\"defaultErrnoRet\"")
          : null;
      SeccompAction defaultAction =
          action(root.get("defaultAction"), defaultErrno, "\"defaultAction\"",
              "\"defaultErrnoRet\"");

      ImmutableList<String> architectures = architectures(root);

      ImmutableList.Builder<SeccompRule> rules = ImmutableList.builder();
      // libseccomp 2.5 keeps the first of two rules that match the same call with the same
      // conditions and silently drops the second, so a file whose outcome depends on rule order
      // is refused instead.
      Map<String, Integer> seen = new HashMap<>();
      Map<Integer, SeccompRule> byIndex = new HashMap<>();
      JsonElement syscalls = root.get("syscalls");
      if (syscalls != null && !syscalls.isJsonNull()) {
        if (!syscalls.isJsonArray()) {
          throw fail("\"syscalls\" must be an array of rules");
        }
        JsonArray array = syscalls.getAsJsonArray();
        for (int i = 0; i < array.size(); i++) {
          Optional<SeccompRule> rule = rule(array.get(i), i);
          if (rule.isEmpty()) {
            continue;
          }
          byIndex.put(i, rule.get());
          for (String name : rule.get().names()) {
            String key = name + " " + ImmutableSet.copyOf(rule.get().conditions());
            Integer earlier = seen.putIfAbsent(key, i);
            if (earlier != null
                && !byIndex.get(earlier).action().equals(rule.get().action())) {
              throw fail("syscalls[" + i + "] (" + name + ") conflicts with syscalls[" + earlier
                  + "]: both match " + name + " with the same arguments but ask for "
                  + byIndex.get(earlier).action() + " and " + rule.get().action()
                  + "; keep one of them");
            }
          }
          rules.add(rule.get());
        }
      }
      return new SeccompProfile(source, defaultAction, architectures, rules.build());
    }

    private JsonObject readObject(String json) {
      JsonElement element;
      try {
        JsonReader reader = new JsonReader(new StringReader(json));
        reader.setStrictness(Strictness.STRICT);
        element = new Gson().getAdapter(JsonElement.class).read(reader);
        if (reader.peek() != JsonToken.END_DOCUMENT) {
          throw new JsonParseException("unexpected content after the profile object");
        }
      } catch (IOException | JsonParseException | IllegalStateException e) {
        throw fail("is not valid JSON (" + e.getMessage() + "); fix the syntax");
      }
      if (element == null || !element.isJsonObject()) {
        throw fail("must be a JSON object with \"defaultAction\" and \"syscalls\"");
      }
      return element.getAsJsonObject();
    }

    private ImmutableList<String> architectures(JsonObject root) {
      ImmutableList.Builder<String> result = ImmutableList.builder();
      JsonElement plain = root.get("architectures");
      if (plain != null && !plain.isJsonNull()) {
        result.addAll(stringList(plain, "\"architectures\""));
      }
      JsonElement archMap = root.get("archMap");
      if (archMap != null && !archMap.isJsonNull()) {
        if (!archMap.isJsonArray()) {
          throw fail("\"archMap\" must be an array of {architecture, subArchitectures}");
        }
        for (JsonElement entry : archMap.getAsJsonArray()) {
          if (!entry.isJsonObject()) {
            throw fail("\"archMap\" entries must be objects");
          }
          JsonObject o = entry.getAsJsonObject();
          if (o.has("architecture")) {
            result.add(string(o.get("architecture"), "\"archMap\" architecture"));
          }
          if (o.has("subArchitectures") && !o.get("subArchitectures").isJsonNull()) {
            result.addAll(stringList(o.get("subArchitectures"), "\"archMap\" subArchitectures"));
          }
        }
      }
      ImmutableList<String> all = result.build();
      for (String arch : all) {
        if (!arch.startsWith("SCMP_ARCH_")) {
          throw fail("architecture \"" + arch + "\" is not an SCMP_ARCH_* name; write it as, for"
              + " example, SCMP_ARCH_X86_64 or SCMP_ARCH_AARCH64");
        }
      }
      return ImmutableList.copyOf(ImmutableSet.copyOf(all));
    }

    private Optional<SeccompRule> rule(JsonElement element, int index) {
      String where = "syscalls[" + index + "]";
      if (!element.isJsonObject()) {
        throw fail(where + " must be an object with \"names\" and \"action\"");
      }
      JsonObject rule = element.getAsJsonObject();
      checkKeys(rule, RULE_KEYS, where);

      List<String> names = new ArrayList<>();
      if (rule.has("names") && !rule.get("names").isJsonNull()) {
        names.addAll(stringList(rule.get("names"), where + " \"names\""));
      }
      if (rule.has("name") && !rule.get("name").isJsonNull()) {
        names.add(string(rule.get("name"), where + " \"name\""));
      }
      if (names.isEmpty()) {
        throw fail(where + " names no system call; add \"names\": [\"...\"]");
      }
      for (String name : names) {
        if (!SYSCALL_NAME.matcher(name).matches()) {
          throw fail(where + " system call name \"" + name + "\" is not a system call name;"
              + " use the kernel's lower-case name, for example \"openat\"");
        }
      }
      String what = where + " (" + names.get(0) + (names.size() > 1 ? ", ..." : "") + ")";

      if (!rule.has("action")) {
        throw fail(what + " has no \"action\"; add one, for example \"SCMP_ACT_ALLOW\"");
      }
      Integer errno = rule.has("errnoRet") && !rule.get("errnoRet").isJsonNull()
          ? errnoValue(rule.get("errnoRet"), what + " \"errnoRet\"")
          : null;
      SeccompAction action =
          action(rule.get("action"), errno, what + " \"action\"", what + " \"errnoRet\"");

      ImmutableList.Builder<SeccompArgCondition> conditions = ImmutableList.builder();
      JsonElement args = rule.get("args");
      if (args != null && !args.isJsonNull()) {
        if (!args.isJsonArray()) {
          throw fail(what + " \"args\" must be an array");
        }
        JsonArray array = args.getAsJsonArray();
        for (int i = 0; i < array.size(); i++) {
          conditions.add(condition(array.get(i), what + " args[" + i + "]"));
        }
      }

      if (!applies(rule, what)) {
        logger.log(Level.FINE, "{0}: {1} does not apply to this host, left out",
            new Object[] {source, what});
        return Optional.empty();
      }
      return Optional.of(new SeccompRule(
          ImmutableList.copyOf(names), action, conditions.build(), source + " " + where));
    }

    // Docker's includes/excludes: every include must hold and no exclude may.
    private boolean applies(JsonObject rule, String what) {
      JsonObject includes = filter(rule, "includes", what);
      JsonObject excludes = filter(rule, "excludes", what);
      if (includes != null) {
        // The shim holds no capabilities, so a rule needing any is not for it.
        if (includes.has("caps") && !stringList(includes.get("caps"), what + " includes caps")
            .isEmpty()) {
          return false;
        }
        if (includes.has("arches")) {
          List<String> arches = stringList(includes.get("arches"), what + " includes arches");
          if (!arches.isEmpty() && !arches.contains(host.goArch())) {
            return false;
          }
        }
        if (includes.has("minKernel") && !includes.get("minKernel").isJsonNull()) {
          if (!kernelAtLeast(string(includes.get("minKernel"), what + " minKernel"), what)) {
            return false;
          }
        }
      }
      if (excludes != null) {
        // Excluded capabilities are never held by the shim: nothing to exclude on their account.
        if (excludes.has("caps")) {
          stringList(excludes.get("caps"), what + " excludes caps");
        }
        if (excludes.has("arches")
            && stringList(excludes.get("arches"), what + " excludes arches")
                .contains(host.goArch())) {
          return false;
        }
        if (excludes.has("minKernel") && !excludes.get("minKernel").isJsonNull()) {
          throw fail(what + " \"excludes\" has \"minKernel\", which has no meaning; remove it");
        }
      }
      return true;
    }

    private JsonObject filter(JsonObject rule, String key, String what) {
      JsonElement element = rule.get(key);
      if (element == null || element.isJsonNull()) {
        return null;
      }
      if (!element.isJsonObject()) {
        throw fail(what + " \"" + key + "\" must be an object with caps, arches or minKernel");
      }
      checkKeys(element.getAsJsonObject(), FILTER_KEYS, what + " \"" + key + "\"");
      return element.getAsJsonObject();
    }

    private boolean kernelAtLeast(String minKernel, String what) {
      Matcher m = KERNEL_VERSION.matcher(minKernel);
      if (!m.find() || m.end() != minKernel.length()) {
        throw fail(what + " \"minKernel\" \"" + minKernel + "\" must read MAJOR.MINOR, e.g. 5.8");
      }
      int major = Integer.parseInt(m.group(1));
      int minor = Integer.parseInt(m.group(2));
      return host.kernelMajor() > major
          || (host.kernelMajor() == major && host.kernelMinor() >= minor);
    }

    private SeccompArgCondition condition(JsonElement element, String where) {
      if (!element.isJsonObject()) {
        throw fail(where + " must be an object with index, value, valueTwo and op");
      }
      JsonObject arg = element.getAsJsonObject();
      checkKeys(arg, ARG_KEYS, where);
      if (!arg.has("index") || !arg.has("op")) {
        throw fail(where + " needs \"index\" and \"op\"");
      }
      long index = unsigned(arg.get("index"), where + " \"index\"");
      if (index > SeccompArgCondition.MAX_INDEX) {
        throw fail(where + " \"index\" " + index + " is out of range; use 0 to 5");
      }
      long value = arg.has("value") ? unsigned(arg.get("value"), where + " \"value\"") : 0;
      long valueTwo =
          arg.has("valueTwo") ? unsigned(arg.get("valueTwo"), where + " \"valueTwo\"") : 0;
      String opName = string(arg.get("op"), where + " \"op\"");
      for (SeccompArgCondition.Op op : SeccompArgCondition.Op.values()) {
        if (op.ociName().equals(opName)) {
          return new SeccompArgCondition((int) index, value, valueTwo, op);
        }
      }
      throw fail(where + " \"op\" \"" + opName + "\" is unknown; use one of SCMP_CMP_EQ,"
          + " SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE,"
          + " SCMP_CMP_MASKED_EQ");
    }

    private SeccompAction action(
        JsonElement element, Integer errno, String where, String errnoWhere) {
      String name = string(element, where);
      SeccompAction.Type type = switch (name) {
        case "SCMP_ACT_KILL_PROCESS" -> SeccompAction.Type.KILL_PROCESS;
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD" -> SeccompAction.Type.KILL_THREAD;
        case "SCMP_ACT_TRAP" -> SeccompAction.Type.TRAP;
        case "SCMP_ACT_ERRNO" -> SeccompAction.Type.ERRNO;
        case "SCMP_ACT_ALLOW" -> SeccompAction.Type.ALLOW;
        case "SCMP_ACT_LOG" -> SeccompAction.Type.LOG;
        case "SCMP_ACT_NOTIFY" -> throw fail(where + " SCMP_ACT_NOTIFY is refused: it needs a"
            + " user-space supervisor that Jailer does not run; use SCMP_ACT_ERRNO or"
            + " SCMP_ACT_KILL_PROCESS instead");
        case "SCMP_ACT_TRACE" -> throw fail(where + " SCMP_ACT_TRACE is refused: it hands the"
            + " call to a ptrace tracer, which a sandboxed shim must not have; use SCMP_ACT_ERRNO"
            + " or SCMP_ACT_KILL_PROCESS instead");
        default -> throw fail(where + " \"" + name + "\" is not a known action; use one of"
            + " SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL, SCMP_ACT_TRAP,"
            + " SCMP_ACT_ERRNO, SCMP_ACT_ALLOW, SCMP_ACT_LOG");
      };
      if (type == SeccompAction.Type.KILL_THREAD) {
        logger.log(Level.WARNING, "seccomp profile {0}: {1} {2} kills only the calling thread;"
            + " a multi-threaded VMM keeps running without it. Use SCMP_ACT_KILL_PROCESS",
            new Object[] {source, where, name});
      }
      if (type == SeccompAction.Type.ERRNO) {
        return SeccompAction.errno(errno == null ? SeccompAction.EPERM : errno);
      }
      if (errno != null) {
        throw fail(errnoWhere + " is only meaningful with SCMP_ACT_ERRNO, not " + name
            + "; remove it or change the action");
      }
      return new SeccompAction(type, 0);
    }

    private int errnoValue(JsonElement element, String where) {
      long value = unsigned(element, where);
      if (value > SeccompAction.MAX_ERRNO) {
        throw fail(where + " " + value + " is out of range; use an errno from 0 to 4095");
      }
      return (int) value;
    }

    private long unsigned(JsonElement element, String where) {
      BigInteger value;
      try {
        if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
          throw new NumberFormatException();
        }
        JsonPrimitive p = element.getAsJsonPrimitive();
        value = p.getAsBigDecimal().toBigIntegerExact();
      } catch (NumberFormatException | ArithmeticException e) {
        throw fail(where + " must be a whole number, got " + element);
      }
      if (value.signum() < 0 || value.compareTo(MAX_U64) > 0) {
        throw fail(where + " " + value + " is out of range; use 0 to 18446744073709551615");
      }
      return value.longValue();
    }

    private String string(JsonElement element, String where) {
      if (element == null || !element.isJsonPrimitive()
          || !element.getAsJsonPrimitive().isString()) {
        throw fail(where + " must be a string, got " + element);
      }
      return element.getAsString();
    }

    private List<String> stringList(JsonElement element, String where) {
      if (element.isJsonNull()) {
        return List.of();
      }
      if (!element.isJsonArray()) {
        throw fail(where + " must be an array of strings, got " + element);
      }
      List<String> result = new ArrayList<>();
      for (JsonElement e : element.getAsJsonArray()) {
        result.add(string(e, where));
      }
      return result;
    }

    private void checkKeys(JsonObject object, ImmutableSet<String> allowed, String where) {
      for (Map.Entry<String, JsonElement> entry : object.entrySet()) {
        if (!allowed.contains(entry.getKey())) {
          throw fail(where + " has unknown key \"" + entry.getKey() + "\"; known keys: "
              + String.join(", ", allowed));
        }
      }
    }

    private static boolean isEmpty(JsonElement element) {
      if (element.isJsonNull()) {
        return true;
      }
      if (element.isJsonArray()) {
        return element.getAsJsonArray().isEmpty();
      }
      return element.isJsonPrimitive() && element.getAsString().isEmpty();
    }

    private JailerException fail(String what) {
      return JailerException.invalidArgument(FILE_FIELD,
          "seccomp profile " + source + ": " + what);
    }
  }
}
