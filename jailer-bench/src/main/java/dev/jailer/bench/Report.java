package dev.jailer.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.jailer.core.cgroup.CgroupHost;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/** Collects the measured rows and writes BENCHMARKS.md with the machine they ran on. */
final class Report {
  private final List<String[]> rows = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private final List<String[]> jmhRows = new ArrayList<>();

  /** A target and how to judge a row against it. */
  interface Target {
    String text();

    /** "yes", "no" or "—" for a row that is only reported. */
    String met(double jailer, Double baseline);

    static Target ratioAtMost(double limit) {
      return new Target() {
        @Override
        public String text() {
          return "≤ " + fmt(limit) + "×";
        }

        @Override
        public String met(double jailer, Double baseline) {
          return jailer / baseline <= limit ? "yes" : "**no**";
        }
      };
    }

    static Target equal() {
      return new Target() {
        @Override
        public String text() {
          return "equal";
        }

        @Override
        public String met(double jailer, Double baseline) {
          return jailer == baseline ? "yes" : "**no**";
        }
      };
    }

    static Target valueAtMost(double limit) {
      return new Target() {
        @Override
        public String text() {
          return "≤ " + fmt(limit);
        }

        @Override
        public String met(double jailer, Double baseline) {
          return jailer <= limit ? "yes" : "**no**";
        }
      };
    }

    static Target allSucceed(int failed, int total) {
      return new Target() {
        @Override
        public String text() {
          return "all succeed; report boxes/s";
        }

        @Override
        public String met(double jailer, Double baseline) {
          return failed == 0 ? "yes (" + total + " of " + total + ")"
              : "**no** (" + failed + " of " + total + " failed)";
        }
      };
    }
  }

  /** A measured row; {@code baseline} null for a row without one. */
  void row(String what, Stats jailer, String baselineWhat, Stats baseline, String unit,
      Target target) {
    boolean mib = unit.equals("MiB");
    double scale = mib ? 1.0 / (1 << 20) : 1;
    String jailerCell = cell(jailer, scale, unit);
    String baselineCell =
        baseline == null ? "—" : baselineWhat + ": " + cell(baseline, scale, unit);
    String ratio = baseline == null ? "—" : fmt(jailer.median() / baseline.median()) + "×";
    rows.add(new String[] {what, jailerCell, baselineCell, ratio,
        target.text() + (target.text().startsWith("≤ ") && baseline == null ? " " + unit : ""),
        target.met(jailer.median(), baseline == null ? null : baseline.median())});
  }

  /** The memory row: per-box growth against the idle server, in MB of 10^6 bytes. */
  void memoryRow(String what, Stats perBoxBytes, Stats idleBytes, double limitMb) {
    rows.add(new String[] {what, cell(perBoxBytes, 1e-6, "MB"),
        "idle server: " + cell(idleBytes, 1.0 / (1 << 20), "MiB"), "—",
        "≤ " + fmt(limitMb) + " MB per box",
        perBoxBytes.median() / 1e6 <= limitMb ? "yes" : "**no**"});
  }

  void note(String text) {
    notes.add(text);
  }

  private static String cell(Stats stats, double scale, String unit) {
    Stats.Spread spread = stats.spread();
    return fmt(stats.median() * scale) + " " + unit + " (" + spread.kind() + " "
        + fmt(spread.low() * scale) + "–" + fmt(spread.high() * scale) + ", n=" + stats.count()
        + ")";
  }

  static String mib(double bytes) {
    return fmt(bytes / (1 << 20));
  }

  /** Three significant digits, never scientific notation. */
  static String fmt(double value) {
    double abs = Math.abs(value);
    String pattern = abs >= 100 ? "%.0f" : abs >= 10 ? "%.1f" : abs >= 1 ? "%.2f" : "%.3f";
    return String.format(Locale.ROOT, pattern, value);
  }

  /** Adds JMH's JSON results: the median and quartiles of every measured iteration. */
  void addJmh(Path json) throws IOException {
    JsonArray results = JsonParser.parseString(Files.readString(json)).getAsJsonArray();
    for (JsonElement element : results) {
      JsonObject result = element.getAsJsonObject();
      JsonObject metric = result.getAsJsonObject("primaryMetric");
      Stats stats = new Stats();
      for (JsonElement fork : metric.getAsJsonArray("rawData")) {
        for (JsonElement value : fork.getAsJsonArray()) {
          stats.add(value.getAsDouble());
        }
      }
      String name = result.get("benchmark").getAsString();
      name = name.substring(name.lastIndexOf('.') + 1);
      String unit = metric.get("scoreUnit").getAsString();
      Stats.Spread spread = stats.spread();
      jmhRows.add(new String[] {"`" + name + "`", fmt(stats.median()) + " " + unit,
          spread.kind() + " " + fmt(spread.low()) + "–" + fmt(spread.high()),
          result.get("forks").getAsInt() + " forks × "
              + result.get("measurementIterations").getAsInt() + " iterations"});
    }
  }

  /** The end-to-end table in Markdown. */
  String endToEndTable() {
    StringBuilder text = new StringBuilder();
    text.append("| what | Jailer: median (spread, n) | baseline in the same run: median"
        + " (spread, n) | ratio | target | met? |\n");
    text.append("|---|---|---|---|---|---|\n");
    for (String[] row : rows) {
      text.append("| ").append(String.join(" | ", row)).append(" |\n");
    }
    return text.toString();
  }

  /**
   * Writes the whole report to {@code out}, ending with the text of {@code analysis} (what
   * bounds the figures, kept by hand next to the code; null for none).
   */
  void write(Path out, Path analysis) throws IOException {
    StringBuilder text = new StringBuilder();
    text.append("# Benchmarks\n\n")
        .append("Written by `sudo scripts/bench` on ")
        .append(ZonedDateTime.now(ZoneOffset.UTC).format(
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
        .append("; run it again to measure your own machine (it rewrites this file).\n\n");
    text.append("## Machine\n\n| | |\n|---|---|\n");
    for (var entry : machine().entrySet()) {
      text.append("| ").append(entry.getKey().substring(2)).append(" | ")
          .append(entry.getValue()).append(" |\n");
    }
    text.append("\n## End to end\n\n")
        .append("The real server (`java -jar jailer-server.jar`, default flags plus its shim"
            + " directories and a cgroup parent of its own) as a child process, called over its"
            + " Unix socket by blocking gRPC stubs. Each repetition runs Jailer and its baseline"
            + " back to back, alternating which goes first, after warm-up repetitions that are"
            + " not counted. Every figure is the median of the repetitions (n); the spread is"
            + " the interquartile range (p25–p75) or, for five repetitions or fewer, the whole"
            + " range (min–max). The ratio is Jailer's median over the baseline's.\n\n")
        .append(endToEndTable());
    if (!notes.isEmpty()) {
      text.append("\n");
      for (String note : notes) {
        text.append("- ").append(note).append("\n");
      }
    }
    if (!jmhRows.isEmpty()) {
      text.append("\n## In-process (JMH)\n\n")
          .append("What every Spawn computes before a process starts, measured with JMH"
              + " (average time per operation; the median and spread are over every measured"
              + " iteration of every fork).\n\n")
          .append("| benchmark | median | spread | runs |\n|---|---|---|---|\n");
      for (String[] row : jmhRows) {
        text.append("| ").append(String.join(" | ", row)).append(" |\n");
      }
    }
    if (analysis != null && Files.exists(analysis)) {
      text.append("\n").append(Files.readString(analysis));
    }
    Files.writeString(out, text.toString());
  }

  private static TreeMap<String, String> machine() {
    TreeMap<String, String> machine = new TreeMap<>();
    machine.put("1 CPU", firstValue(Path.of("/proc/cpuinfo"), "model name") + ", "
        + Runtime.getRuntime().availableProcessors() + " cores");
    String memTotal = firstValue(Path.of("/proc/meminfo"), "MemTotal");
    try {
      memTotal = fmt(Long.parseLong(memTotal.replaceAll("[^0-9]", "")) / 1024.0 / 1024.0)
          + " GiB";
    } catch (NumberFormatException e) {
      // Shown as the kernel wrote it.
    }
    machine.put("2 Memory", memTotal);
    machine.put("3 Kernel", readOr(Path.of("/proc/sys/kernel/osrelease"), "?").trim());
    machine.put("4 Distribution",
        firstValue(Path.of("/etc/os-release"), "PRETTY_NAME").replace("\"", ""));
    machine.put("5 JDK", System.getProperty("java.vm.name") + " "
        + System.getProperty("java.runtime.version"));
    machine.put("6 bubblewrap", command("bwrap", "--version"));
    TreeMap<String, String> cgroups = new TreeMap<>();
    CgroupHost.detect().placements().values().forEach(p -> cgroups.put(p.controller(),
        (p.unified() ? "v2 " : "v1 ") + p.mountPoint()));
    machine.put("7 cgroups", cgroups.toString());
    return machine;
  }

  private static String firstValue(Path file, String key) {
    for (String line : readOr(file, "").split("\n")) {
      int separator = line.indexOf(line.contains("=") && !line.contains(":") ? '=' : ':');
      if (separator > 0 && line.substring(0, separator).trim().equals(key)) {
        return line.substring(separator + 1).trim();
      }
    }
    return "?";
  }

  private static String readOr(Path file, String fallback) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return fallback;
    }
  }

  private static String command(String... argv) {
    try {
      Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor();
      return output.trim();
    } catch (IOException e) {
      return "not found";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }
}
