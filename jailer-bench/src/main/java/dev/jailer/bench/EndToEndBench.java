package dev.jailer.bench;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.cgroup.CgroupHost;
import dev.jailer.v1.Box;
import dev.jailer.v1.BoxState;
import dev.jailer.v1.InspectRequest;
import dev.jailer.v1.ListRequest;
import dev.jailer.v1.RemoveRequest;
import dev.jailer.v1.SpawnRequest;
import dev.jailer.v1.StageRequest;
import dev.jailer.v1.StopRequest;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * The end-to-end half of {@code scripts/bench}: the real server as a child process, reached over
 * its Unix socket, against baselines measured in the same run and interleaved with it (each
 * repetition runs Jailer and its baseline back to back, alternating which goes first).
 *
 * <p>Needs root (cgroups, the drop to the box user). Everything it makes lives in its work
 * directory and below the cgroup parents {@code jailer-bench-<run id>} and
 * {@code jailer-bench-<run id>-base}; all of it is removed at the end, also after a failure or
 * an interrupt.
 *
 * <p>Usage: {@code EndToEndBench --run-id ID --server-jar JAR --out BENCHMARKS.md
 * [--jmh-json FILE] [--analysis FILE] [--quick]}. Exit status 0 when every measurement ran
 * (missed targets are reported, not failed), 1 when one could not run, 2 for bad arguments or
 * without root.
 */
public final class EndToEndBench {
  private static final Logger logger = Logger.getLogger(EndToEndBench.class.getName());
  private static final long BOX_DEADLINE_SECONDS = 60;

  private final String runId;
  private final Path serverJar;
  private final Path out;
  private final Path jmhJson;
  private final Path analysis;
  private final boolean quick;
  private final Path work;
  private final String serverParent;
  private final String baseParent;
  private final List<ServerProcess> servers = new ArrayList<>();
  private final AtomicBoolean cleaned = new AtomicBoolean();
  private final Report report = new Report();

  private Shims.ShimDir big;
  private Shims.ShimDir small;

  private EndToEndBench(
      String runId, Path serverJar, Path out, Path jmhJson, Path analysis, boolean quick) {
    this.runId = runId;
    this.serverJar = serverJar;
    this.out = out;
    this.jmhJson = jmhJson;
    this.analysis = analysis;
    this.quick = quick;
    this.work = Path.of("/var/tmp", "jailer-bench-" + runId);
    this.serverParent = "jailer-bench-" + runId;
    this.baseParent = "jailer-bench-" + runId + "-base";
  }

  /** Runs every end-to-end measurement and writes the report; see the class comment. */
  public static void main(String[] args) throws Exception {
    Map<String, String> flags = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--quick")) {
        flags.put("--quick", "true");
      } else if (i + 1 < args.length && args[i].startsWith("--")) {
        flags.put(args[i], args[++i]);
      } else {
        usage("unexpected argument " + args[i]);
      }
    }
    if (!flags.containsKey("--run-id") || !flags.containsKey("--server-jar")
        || !flags.containsKey("--out")) {
      usage("--run-id, --server-jar and --out are required");
    }
    if (!flags.get("--run-id").matches("[a-z0-9]{1,16}")) {
      usage("--run-id must be 1 to 16 lowercase letters or digits");
    }
    if (!"0".equals(String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid")))) {
      System.err.println("EndToEndBench: needs root (cgroups, the drop to the box user);"
          + " run sudo scripts/bench");
      System.exit(2);
    }
    EndToEndBench bench =
        new EndToEndBench(
            flags.get("--run-id"),
            Path.of(flags.get("--server-jar")).toAbsolutePath(),
            Path.of(flags.get("--out")).toAbsolutePath(),
            flags.containsKey("--jmh-json") ? Path.of(flags.get("--jmh-json")) : null,
            flags.containsKey("--analysis") ? Path.of(flags.get("--analysis")) : null,
            flags.containsKey("--quick"));
    Thread hook = new Thread(bench::cleanUp, "bench-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    int status = 0;
    try {
      bench.run();
    } catch (Exception | AssertionError e) {
      e.printStackTrace();
      bench.printServerLogs();
      status = 1;
    } finally {
      bench.cleanUp();
      Runtime.getRuntime().removeShutdownHook(hook);
    }
    System.exit(status);
  }

  private static void usage(String problem) {
    System.err.println("EndToEndBench: " + problem);
    System.err.println("usage: EndToEndBench --run-id ID --server-jar JAR --out FILE"
        + " [--jmh-json FILE] [--analysis FILE] [--quick]");
    System.exit(2);
  }

  private int reps(int full, int quickCount) {
    return quick ? quickCount : full;
  }

  private void run() throws Exception {
    Files.createDirectories(work);
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    log("building the shims with gcc in " + work);
    big = Shims.build(work.resolve("shim-big"), true);
    small = Shims.build(work.resolve("shim-small"), false);

    ServerProcess server = startServer("state1");
    try (Rpc rpc = new Rpc(server.socket())) {
      stageFirstTime(server, rpc);
      stageAgain(rpc);
      spawnAndInspect(rpc);
      concurrentLives(server);
      removeAll(server, rpc);
    }
    server.stop();
    servers.remove(server);

    memoryAndRestart();

    if (jmhJson != null && Files.exists(jmhJson)) {
      report.addJmh(jmhJson);
    }
    report.write(out, analysis);
    log("wrote " + out);
    System.out.println(report.endToEndTable());
  }

  private ServerProcess startServer(String stateName) throws Exception {
    ServerProcess server =
        new ServerProcess(
            serverJar,
            work.resolve(stateName),
            List.of(
                "--allow-shim-dir", big.dir().toString(),
                "--allow-shim-dir", small.dir().toString(),
                "--cgroup-parent", serverParent),
            work.resolve(stateName + "-server.log"),
            work.resolve("server.pid"));
    servers.add(server);
    server.start();
    server.awaitList(boxes -> true);
    return server;
  }

  // ---------------------------------------------------------------------------------------
  // Stage, first time: Jailer against cp + sha256sum + sync of the same files.

  private static final String COPY_SCRIPT =
      String.join("\n",
          "set -e",
          "mkdir \"$2\"",
          "cp -P \"$1/" + Shims.SHIM_NAME + "\" \"$1/" + Shims.KRUNFW_REAL
              + "\" \"$1/libkrunfw.so.5\" \"$1/libkrunfw.so\" \"$2/\"",
          "sha256sum \"$2/" + Shims.SHIM_NAME + "\" \"$2/" + Shims.KRUNFW_REAL + "\" >/dev/null",
          "sync",
          "");

  private void stageFirstTime(ServerProcess server, Rpc rpc) throws Exception {
    int warm = 2;
    int reps = reps(11, 3);
    log("Stage, first time: " + reps + " repetitions of Jailer and of cp + sha256sum + sync");
    Stats jailer = new Stats();
    Stats baseline = new Stats();
    Stats binBytes = new Stats();
    Stats serverWrites = new Stats();
    Path copies = Files.createDirectories(work.resolve("copies"));
    for (int i = 0; i < warm + reps; i++) {
      boolean record = i >= warm;
      for (int turn = 0; turn < 2; turn++) {
        if ((turn == 0) == (i % 2 == 0)) {
          String boxId = "stage-" + i;
          long written = server.writtenBytes();
          long t0 = System.nanoTime();
          Box box = rpc.jailer(BOX_DEADLINE_SECONDS).stage(StageRequest.newBuilder()
              .setBoxId(boxId).setShimPath(big.shim().toString()).build()).getBox();
          long t1 = System.nanoTime();
          long writes = server.writtenBytes() - written;
          long bytes = regularFileBytes(Path.of(box.getBoxDir(), "bin"));
          rpc.jailer(BOX_DEADLINE_SECONDS).remove(
              RemoveRequest.newBuilder().setBoxId(boxId).build());
          if (record) {
            jailer.add(millis(t1 - t0));
            binBytes.add(bytes);
            serverWrites.add(writes);
          }
        } else {
          Path dest = copies.resolve("copy-" + i);
          long t0 = System.nanoTime();
          runScript(COPY_SCRIPT, big.dir().toString(), dest.toString());
          long t1 = System.nanoTime();
          MoreFiles.deleteRecursively(dest, RecursiveDeleteOption.ALLOW_INSECURE);
          if (record) {
            baseline.add(millis(t1 - t0));
          }
        }
      }
    }
    report.row("Stage, first time (10 MiB shim, 24 MiB libkrunfw.so.5.2.1, two symlinks)",
        jailer, "cp -P, then sha256sum, then sync of the same files", baseline, "ms",
        Report.Target.ratioAtMost(1.0));
    Stats expected = new Stats();
    expected.add(big.shimBytes() + big.krunfwBytes());
    report.row("Bytes written to bin/ per box (regular files; symlinks are links)", binBytes,
        "the shim + one libkrunfw", expected, "MiB", Report.Target.equal());
    report.note("Stage, first time: the server wrote a median of "
        + Report.mib(serverWrites.median()) + " MiB per Stage through write(2) (/proc/PID/io"
        + " wchar: the two copies plus the box's JSON records).");
  }

  private static long regularFileBytes(Path dir) throws IOException {
    long total = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
          total += Files.size(entry);
        }
      }
    }
    return total;
  }

  private void runScript(String script, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", script, "bench"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IllegalStateException("baseline script failed: " + output);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Stage again with nothing changed, against an Inspect of the same box.

  private void stageAgain(Rpc rpc) {
    int warm = reps(500, 100);
    int reps = reps(2000, 200);
    log("Stage again: " + reps + " repetitions of Stage (unchanged) and of Inspect");
    StageRequest stage = StageRequest.newBuilder().setBoxId("restage")
        .setShimPath(big.shim().toString()).build();
    InspectRequest inspect = InspectRequest.newBuilder().setBoxId("restage").build();
    rpc.jailer(BOX_DEADLINE_SECONDS).stage(stage);
    Stats jailer = new Stats();
    Stats baseline = new Stats();
    for (int i = 0; i < warm + reps; i++) {
      for (int turn = 0; turn < 2; turn++) {
        long t0 = System.nanoTime();
        if ((turn == 0) == (i % 2 == 0)) {
          Box box = rpc.jailer(BOX_DEADLINE_SECONDS).stage(stage).getBox();
          long t1 = System.nanoTime();
          if (box.getStagedFilesList().stream().anyMatch(f -> f.getCopied())) {
            throw new AssertionError("an unchanged Stage copied files: " + box);
          }
          if (i >= warm) {
            jailer.add(micros(t1 - t0));
          }
        } else {
          rpc.jailer(BOX_DEADLINE_SECONDS).inspect(inspect);
          long t1 = System.nanoTime();
          if (i >= warm) {
            baseline.add(micros(t1 - t0));
          }
        }
      }
    }
    report.row("Stage again, nothing changed (Unix socket)", jailer,
        "Inspect of the same box", baseline, "µs", Report.Target.ratioAtMost(2.0));
  }

  // ---------------------------------------------------------------------------------------
  // Spawn until the shim runs, against the same launch chain from a shell script; then Inspect
  // against a health check on the same channel.

  private void spawnAndInspect(Rpc rpc) throws Exception {
    int warm = 3;
    int reps = reps(30, 5);
    log("Spawn: " + reps + " repetitions of Jailer and of the same chain from a shell script");
    for (String boxId : List.of("spawn-j", "spawn-b")) {
      rpc.jailer(BOX_DEADLINE_SECONDS).stage(StageRequest.newBuilder().setBoxId(boxId)
          .setShimPath(big.shim().toString()).build());
    }
    SpawnRequest spawn = SpawnRequest.newBuilder().setBoxId("spawn-j").build();
    StopRequest stop = StopRequest.newBuilder().setBoxId("spawn-j")
        .setGracePeriodMillis(5000).build();
    Box template = rpc.jailer(BOX_DEADLINE_SECONDS).spawn(spawn).getBox();
    Path jailerDir = Path.of(template.getBoxDir());
    Path jailerStdout = jailerDir.resolve("jailer/stdout.log");
    awaitGrowth(jailerStdout, 0, null);
    rpc.jailer(BOX_DEADLINE_SECONDS).stop(stop);

    Path baseDir = jailerDir.resolveSibling("spawn-b");
    Files.copy(jailerDir.resolve("jailer/seccomp.bpf"), baseDir.resolve("jailer/seccomp.bpf"),
        StandardCopyOption.REPLACE_EXISTING);
    BaselineLaunch launch =
        BaselineLaunch.from(template.getCommandLineList(), jailerDir, baseDir,
            baseParent + "/spawn-b", JailerConfig.DEFAULT_LIMITS);
    Path script = work.resolve("spawn-baseline.sh");
    Files.writeString(script, launch.script());
    for (Path mount : BenchCgroups.mountPoints()) {
      Files.createDirectories(mount.resolve(baseParent));
    }
    Path baseStdout = baseDir.resolve("jailer/stdout.log");

    Stats jailerReady = new Stats();
    Stats jailerRpc = new Stats();
    Stats baseReady = new Stats();
    for (int i = 0; i < warm + reps; i++) {
      boolean record = i >= warm;
      for (int turn = 0; turn < 2; turn++) {
        if ((turn == 0) == (i % 2 == 0)) {
          long offset = sizeOrZero(jailerStdout);
          long t0 = System.nanoTime();
          Box box = rpc.jailer(BOX_DEADLINE_SECONDS).spawn(spawn).getBox();
          long t1 = System.nanoTime();
          awaitGrowth(jailerStdout, offset, null);
          long t2 = System.nanoTime();
          if (box.getState() != BoxState.BOX_STATE_RUNNING) {
            throw new AssertionError("spawn-j is not running: " + box);
          }
          rpc.jailer(BOX_DEADLINE_SECONDS).stop(stop);
          if (record) {
            jailerRpc.add(millis(t1 - t0));
            jailerReady.add(millis(t2 - t0));
          }
        } else {
          long offset = sizeOrZero(baseStdout);
          long t0 = System.nanoTime();
          ProcessBuilder builder = new ProcessBuilder(launch.command(script))
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.appendTo(
                  work.resolve("spawn-baseline.log").toFile()));
          // The same empty environment the jailer gives its chain.
          builder.environment().clear();
          builder.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
          Process process = builder.start();
          awaitGrowth(baseStdout, offset, process);
          long t2 = System.nanoTime();
          BenchCgroups.killAndRemove(baseParent, "spawn-b");
          process.waitFor(30, TimeUnit.SECONDS);
          if (record) {
            baseReady.add(millis(t2 - t0));
          }
        }
      }
    }
    report.row("Spawn until the shim prints \"ready\" (Unix socket; sandbox, cgroup, rlimits,"
        + " seccomp, user drop)", jailerReady,
        "the same chain from a shell script (mkdir + limits + join of 4 v1 cgroups, prlimit,"
        + " setpriv, bwrap with the same argv and BPF file)", baseReady, "ms",
        Report.Target.ratioAtMost(1.5));
    report.note("Spawn: the Spawn call itself returned after a median of "
        + Report.fmt(jailerRpc.median()) + " ms (p25–p75 "
        + Report.fmt(jailerRpc.percentile(0.25))
        + "–" + Report.fmt(jailerRpc.percentile(0.75)) + "); it returns once the shim's process"
        + " has executed, and both sides are then timed until its \"ready\" line reaches its"
        + " stdout file, polled every 20 µs the same way.");

    inspectLatency(rpc, spawn, stop);
  }

  private void inspectLatency(Rpc rpc, SpawnRequest spawn, StopRequest stop) {
    int warm = reps(3000, 300);
    int batches = 20;
    int perBatch = reps(500, 50);
    log("Inspect: " + batches * perBatch + " calls each of Inspect and of a health check");
    rpc.jailer(BOX_DEADLINE_SECONDS).spawn(spawn);
    InspectRequest inspect = InspectRequest.newBuilder().setBoxId("spawn-j").build();
    HealthCheckRequest check = HealthCheckRequest.getDefaultInstance();
    Stats inspectAll = new Stats();
    Stats healthAll = new Stats();
    Stats inspectP99 = new Stats();
    Stats healthP99 = new Stats();
    for (int i = 0; i < warm; i++) {
      rpc.jailer(BOX_DEADLINE_SECONDS).inspect(inspect);
      rpc.health.check(check);
    }
    for (int b = 0; b < batches; b++) {
      Stats inspectBatch = new Stats();
      Stats healthBatch = new Stats();
      for (int i = 0; i < perBatch; i++) {
        for (int turn = 0; turn < 2; turn++) {
          long t0 = System.nanoTime();
          if ((turn == 0) == (i % 2 == 0)) {
            Box box = rpc.jailer(BOX_DEADLINE_SECONDS).inspect(inspect).getBox();
            inspectBatch.add(micros(System.nanoTime() - t0));
            if (box.getState() != BoxState.BOX_STATE_RUNNING) {
              throw new AssertionError("spawn-j stopped running: " + box);
            }
          } else {
            HealthCheckResponse response =
                rpc.health.withDeadlineAfter(BOX_DEADLINE_SECONDS, TimeUnit.SECONDS).check(check);
            healthBatch.add(micros(System.nanoTime() - t0));
            if (response.getStatus() != HealthCheckResponse.ServingStatus.SERVING) {
              throw new AssertionError("the server is not SERVING: " + response);
            }
          }
        }
      }
      inspectBatch.values().forEach(inspectAll::add);
      healthBatch.values().forEach(healthAll::add);
      inspectP99.add(inspectBatch.percentile(0.99));
      healthP99.add(healthBatch.percentile(0.99));
    }
    rpc.jailer(BOX_DEADLINE_SECONDS).stop(stop);
    report.row("Inspect of a running box, p50 (every call)", inspectAll,
        "gRPC health check on the same channel", healthAll, "µs", Report.Target.ratioAtMost(2.0));
    report.row("Inspect of a running box, p99 (of each batch of " + perBatch + " calls)",
        inspectP99, "gRPC health check on the same channel", healthP99, "µs",
        Report.Target.ratioAtMost(2.0));
  }

  /**
   * Polls {@code file} until it grows beyond {@code offset}: the shim's "ready" line. Jailer's
   * box and the baseline are polled by this same loop.
   */
  private static void awaitGrowth(Path file, long offset, Process launcher) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      if (sizeOrZero(file) > offset) {
        return;
      }
      // The chain forks the sandbox off (setsid --fork) and its own shell then ends with 0.
      if (launcher != null && !launcher.isAlive() && launcher.exitValue() != 0) {
        throw new IllegalStateException("the baseline launch chain ended with status "
            + launcher.exitValue() + " before the shim was ready; see its log");
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no output in " + file + " within 30 s");
      }
      LockSupport.parkNanos(20_000);
    }
  }

  // ---------------------------------------------------------------------------------------
  // 200 boxes by 16 concurrent clients.

  private void concurrentLives(ServerProcess server) throws Exception {
    int runs = 3;
    int boxes = 200;
    int clients = 16;
    log("Concurrency: " + runs + " runs of " + boxes + " whole box lives by " + clients
        + " clients");
    Stats rate = new Stats();
    int failed = 0;
    for (int run = 0; run < runs; run++) {
      String prefix = "c" + run + "-";
      LifeResult result = lives(server, boxes, clients, prefix, true);
      failed += result.failures().size();
      if (!result.failures().isEmpty()) {
        logger.warning("run " + run + ": " + result.failures().size() + " boxes failed, first: "
            + result.failures().get(0));
      }
      rate.add(boxes / (result.nanos() / 1e9));
    }
    report.row("200 boxes staged, spawned, stopped and removed by 16 concurrent clients"
        + " (small shim; " + runs + " runs)", rate, null, null, "boxes/s",
        Report.Target.allSucceed(failed, runs * boxes));
  }

  /** What a batch of box lives did: its wall time and the failures, one line each. */
  private record LifeResult(long nanos, List<String> failures) {}

  /**
   * Runs {@code boxes} box lives on {@code clients} threads, each with its own connection:
   * Stage, Spawn and, with {@code whole}, Stop and Remove too.
   */
  private LifeResult lives(
      ServerProcess server, int boxes, int clients, String prefix, boolean whole)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Rpc> connections = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    try {
      for (int c = 0; c < clients; c++) {
        Rpc rpc = new Rpc(server.socket());
        rpc.jailer(BOX_DEADLINE_SECONDS).list(ListRequest.getDefaultInstance());
        connections.add(rpc);
      }
      AtomicInteger next = new AtomicInteger();
      List<Future<List<String>>> futures = new ArrayList<>();
      long t0 = System.nanoTime();
      for (Rpc rpc : connections) {
        futures.add(pool.submit(() -> {
          List<String> mine = new ArrayList<>();
          for (int i = next.getAndIncrement(); i < boxes; i = next.getAndIncrement()) {
            String boxId = prefix + String.format("%03d", i);
            try {
              life(rpc, boxId, whole);
            } catch (RuntimeException e) {
              mine.add(boxId + ": " + e);
            }
          }
          return mine;
        }));
      }
      for (Future<List<String>> future : futures) {
        failures.addAll(future.get(10, TimeUnit.MINUTES));
      }
      return new LifeResult(System.nanoTime() - t0, failures);
    } finally {
      pool.shutdownNow();
      connections.forEach(Rpc::close);
    }
  }

  private void life(Rpc rpc, String boxId, boolean whole) {
    rpc.jailer(BOX_DEADLINE_SECONDS).stage(StageRequest.newBuilder().setBoxId(boxId)
        .setShimPath(small.shim().toString()).build());
    Box running = rpc.jailer(BOX_DEADLINE_SECONDS).spawn(SpawnRequest.newBuilder()
        .setBoxId(boxId).build()).getBox();
    if (running.getState() != BoxState.BOX_STATE_RUNNING) {
      throw new IllegalStateException("not running after Spawn: " + running.getStatusMessage());
    }
    if (!whole) {
      return;
    }
    Box stopped = rpc.jailer(BOX_DEADLINE_SECONDS).stop(StopRequest.newBuilder().setBoxId(boxId)
        .setGracePeriodMillis(5000).build()).getBox();
    if (stopped.getState() != BoxState.BOX_STATE_EXITED) {
      throw new IllegalStateException("not exited after Stop: " + stopped.getStatusMessage());
    }
    rpc.jailer(BOX_DEADLINE_SECONDS).remove(RemoveRequest.newBuilder().setBoxId(boxId).build());
  }

  private void removeAll(ServerProcess server, Rpc rpc) throws Exception {
    List<Box> left = rpc.jailer(BOX_DEADLINE_SECONDS).list(ListRequest.getDefaultInstance())
        .getBoxesList();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (Box box : left) {
        futures.add(pool.submit(() -> rpc.jailer(BOX_DEADLINE_SECONDS).remove(
            RemoveRequest.newBuilder().setBoxId(box.getBoxId()).setForce(true).build())));
      }
      for (Future<?> future : futures) {
        future.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Memory with 500 running boxes, and restart until every box is listed again.

  private void memoryAndRestart() throws Exception {
    int boxes = reps(500, 50);
    int readings = 5;
    ServerProcess server = startServer("state2");
    log("Memory: warming a fresh server with 50 box lives, then " + boxes + " running boxes");
    LifeResult warmup = lives(server, 50, 16, "w-", true);
    if (!warmup.failures().isEmpty()) {
      throw new IllegalStateException("warm-up failed: " + warmup.failures().get(0));
    }
    Stats idleBefore = new Stats();
    Stats idle = new Stats();
    for (int i = 0; i < readings; i++) {
      idleBefore.add(server.rssBytes());
      server.gc();
      Thread.sleep(500);
      idle.add(server.rssBytes());
    }
    long idleThreads = server.threads();
    long idleHeap = server.heapUsedBytes();

    LifeResult started = lives(server, boxes, 16, "m-", false);
    if (!started.failures().isEmpty()) {
      throw new IllegalStateException(started.failures().size() + " of " + boxes
          + " boxes did not start, first: " + started.failures().get(0));
    }
    Thread.sleep(2000);
    Stats loadedBefore = new Stats();
    Stats loaded = new Stats();
    for (int i = 0; i < readings; i++) {
      loadedBefore.add(server.rssBytes());
      server.gc();
      Thread.sleep(500);
      loaded.add(server.rssBytes());
    }
    long loadedThreads = server.threads();
    long loadedHeap = server.heapUsedBytes();
    Stats perBox = new Stats();
    for (int i = 0; i < readings; i++) {
      perBox.add((loaded.values().get(i) - idle.median()) / boxes);
    }
    report.memoryRow("Server resident memory with " + boxes + " running boxes, per box (after"
        + " a full GC)", perBox, idle, 0.25);
    report.note(String.format(
        "Memory: VmRSS of the server after a full GC (jcmd GC.run): idle %.1f MiB (%d threads),"
            + " with %d running boxes %.1f MiB (%d threads). Before the GC: idle %.1f MiB,"
            + " loaded %.1f MiB (medians of %d readings). The idle server had already run 50"
            + " whole box lives, so class loading and JIT warm-up are not counted as boxes."
            + " Java heap in use after the GC: idle %.1f MiB, loaded %.1f MiB.",
        idle.median() / (1 << 20), idleThreads, boxes, loaded.median() / (1 << 20),
        loadedThreads, idleBefore.median() / (1 << 20), loadedBefore.median() / (1 << 20),
        readings, idleHeap / (double) (1 << 20), loadedHeap / (double) (1 << 20)));

    int restarts = reps(5, 2);
    log("Restart: " + restarts + " times SIGKILL and start with " + boxes + " running boxes");
    Stats restart = new Stats();
    Stats recovered = new Stats();
    Stats listening = new Stats();
    int total = boxes;
    for (int i = 0; i < restarts; i++) {
      server.kill();
      long wall = System.currentTimeMillis();
      long t0 = System.nanoTime();
      server.start();
      server.awaitList(list -> list.stream()
          .filter(b -> b.getState() == BoxState.BOX_STATE_RUNNING).count() == total);
      restart.add((System.nanoTime() - t0) / 1e9);
      recovered.add(server.logMillisAfter(wall, "recovered ") / 1e3);
      listening.add(server.logMillisAfter(wall, "listening on ") / 1e3);
    }
    Stats reattached = new Stats();
    server.gc();
    Thread.sleep(500);
    reattached.add(server.rssBytes());
    report.row("Restart (SIGKILL, then a new server process) with " + boxes
        + " running boxes, until List shows all RUNNING", restart, null, null, "s",
        Report.Target.valueAtMost(3.0));
    report.note(String.format(
        "Restart: timed from starting the new java process, JVM start-up included. Medians"
            + " from the server's log: its boxes were recovered %.2f s and it listened %.2f s"
            + " after the launch. After the last restart, with every box re-attached, the server"
            + " held %.1f MiB after a GC.",
        recovered.median(), listening.median(), reattached.median() / (1 << 20)));

    try (Rpc rpc = new Rpc(server.socket())) {
      removeAll(server, rpc);
    }
    server.stop();
    servers.remove(server);
  }

  // ---------------------------------------------------------------------------------------

  private synchronized void cleanUp() {
    if (!cleaned.compareAndSet(false, true)) {
      return;
    }
    for (ServerProcess server : servers) {
      try {
        server.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    // Boxes outlive their server; their cgroups hold every process of theirs.
    BenchCgroups.removeParent(serverParent);
    BenchCgroups.removeParent(baseParent);
    if (!CgroupHost.detect().orphans(serverParent, Set.of()).isEmpty()) {
      logger.warning("cgroups left below " + serverParent);
    }
    try {
      if (Files.exists(work)) {
        MoreFiles.deleteRecursively(work, RecursiveDeleteOption.ALLOW_INSECURE);
      }
    } catch (IOException e) {
      logger.warning("cannot delete " + work + ": " + e);
    }
  }

  private void printServerLogs() {
    try (DirectoryStream<Path> logs = Files.newDirectoryStream(work, "*.log")) {
      for (Path log : logs) {
        List<String> lines = Files.readAllLines(log);
        System.err.println("---- last lines of " + log.getFileName());
        lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(System.err::println);
      }
    } catch (IOException e) {
      System.err.println("(no logs: " + e + ")");
    }
  }

  private static void log(String message) {
    System.out.println("bench: " + message);
  }

  private static long sizeOrZero(Path file) throws IOException {
    try {
      return Files.size(file);
    } catch (java.nio.file.NoSuchFileException e) {
      return 0;
    }
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }

  private static double micros(long nanos) {
    return nanos / 1e3;
  }
}
