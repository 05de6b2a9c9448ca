package dev.jailer.core;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import dev.jailer.core.box.BoxEvent;
import dev.jailer.core.box.BoxGrants;
import dev.jailer.core.box.BoxId;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.PidRecord;
import dev.jailer.core.box.RecordFiles;
import dev.jailer.core.box.SpawnRecord;
import dev.jailer.core.box.Usage;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.spawn.Spawner;
import dev.jailer.core.stage.StageRecord;
import dev.jailer.core.stage.Stager;
import dev.jailer.core.stage.VolumeSpec;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The jailer's core: every box of one state directory and the operations on them.
 *
 * <p>Operations that change a box (Stage, Spawn, Stop, Remove) are serialised per box; Inspect,
 * List and Watch read immutable snapshots and never wait behind them; different boxes proceed
 * in parallel. Every refusal is a {@link JailerException}.
 */
public final class Jailer implements AutoCloseable {
  private static final Logger logger = Logger.getLogger(Jailer.class.getName());
  private static final String REMOVING_PREFIX = ".removing-";

  private final JailerConfig config;
  private final Stager stager;
  private final Spawner spawner;
  private final ConcurrentHashMap<String, Entry> boxes = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Consumer<BoxEvent>> watchers = new CopyOnWriteArrayList<>();

  /** One box: its lock and its latest snapshot. */
  private static final class Entry {
    final ReentrantLock lock = new ReentrantLock();
    volatile BoxView view;
    volatile boolean removed;

    Entry(BoxView view) {
      this.view = view;
    }
  }

  /**
   * Opens the state directory, creating it if needed, and re-reads every box in it: running
   * shims are re-attached and ends that happened while the server was down are recorded.
   *
   * @throws JailerException INTERNAL when the state directory cannot be created or read
   */
  public Jailer(JailerConfig config, Spawner spawner) {
    this.config = requireNonNull(config, "config");
    this.spawner = requireNonNull(spawner, "spawner");
    this.stager =
        new Stager(
            config.platform(),
            config.stateDir(),
            config.allowedShimDirs(),
            config.allowedVolumeRoots());
    prepareStateDir();
    recover();
  }

  /** The configuration this core was opened with. */
  public JailerConfig config() {
    return config;
  }

  /** The spawner's sandbox problem, if the host cannot sandbox right now. */
  public Optional<String> sandboxProblem() {
    return spawner.problem();
  }

  /**
   * Stages a box (see {@link Stager}): creates it, or refreshes a STAGED or EXITED one.
   *
   * @throws JailerException INVALID_ARGUMENT, PERMISSION_DENIED, FAILED_PRECONDITION for a
   *     RUNNING box, INTERNAL for I/O failures
   */
  public BoxView stage(String boxId, String shimPath, List<VolumeSpec> volumes) {
    BoxId.validate(boxId);
    Entry entry = lockedEntry(boxId);
    try {
      BoxView before = entry.view;
      if (before != null && before.state() == BoxState.RUNNING) {
        throw JailerException.failedPrecondition(
            "box " + boxId + " is running; Stop it before staging it again");
      }
      BoxLayout layout = BoxLayout.of(config.stateDir(), boxId);
      StageRecord record;
      try {
        record =
            stager.stage(
                layout,
                shimPath,
                volumes,
                before == null ? Optional.empty() : before.stage());
      } catch (RuntimeException e) {
        if (before == null) {
          // Nothing was staged: retire the entry so that a waiting call takes a fresh one.
          entry.removed = true;
          boxes.remove(boxId, entry);
        }
        throw e;
      }
      if (before != null && before.exit().isPresent()) {
        deleteIfExists(layout.exitRecord());
      }
      BoxView view =
          new BoxView(
              layout,
              BoxState.STAGED,
              Optional.of(record),
              BoxGrants.of(layout, record),
              before == null ? Optional.empty() : before.spawn(),
              Optional.empty(),
              Optional.empty(),
              Usage.NONE,
              "staged");
      publish(entry, view);
      logger.info(() -> "box " + boxId + " staged from " + record.realShimPath());
      return view;
    } finally {
      entry.lock.unlock();
    }
  }

  // The entry of boxId, created if needed, locked by the caller's thread. An entry that a
  // concurrent Remove retired while this thread waited for its lock is skipped for a fresh one.
  private Entry lockedEntry(String boxId) {
    while (true) {
      Entry entry = boxes.computeIfAbsent(boxId, id -> new Entry(null));
      entry.lock.lock();
      if (!entry.removed) {
        return entry;
      }
      entry.lock.unlock();
    }
  }

  /**
   * Spawns a STAGED or EXITED box and returns once its shim runs.
   *
   * @param cancelled polled while the spawn is under way; when it turns true the half-started
   *     box is torn down and CANCELLED is thrown
   * @throws JailerException NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION (running box,
   *     changed libraries, host cannot sandbox), CANCELLED, INTERNAL
   */
  public BoxView spawn(String boxId, SpawnOptions options, BooleanSupplier cancelled) {
    Entry entry = existing(boxId);
    options.validate();
    entry.lock.lock();
    try {
      BoxView before = live(entry, boxId);
      if (before.state() == BoxState.RUNNING) {
        throw JailerException.failedPrecondition(
            "box " + boxId + " is already running (pid " + before.pid().map(PidRecord::pid)
                .orElse(0L) + "); Stop it first");
      }
      StageRecord stage =
          before.stage().orElseThrow(() -> JailerException.failedPrecondition(
              "box " + boxId + " is incomplete (" + before.statusMessage() + "); Stage it again"));
      checkLibrariesUnchanged(boxId, stage);
      checkBinIntact(before.layout(), stage);
      if (cancelled.getAsBoolean()) {
        throw JailerException.cancelled("the caller gave up before box " + boxId + " started");
      }
      Spawner.Started started = spawner.start(before, options, cancelled);
      // Only a shim that runs replaces the record of how the last one ended.
      deleteIfExists(before.layout().exitRecord());
      BoxView running =
          new BoxView(
              before.layout(),
              BoxState.RUNNING,
              before.stage(),
              started.grants(),
              Optional.of(started.spawnRecord()),
              Optional.of(started.pidRecord()),
              Optional.empty(),
              Usage.NONE,
              "running");
      publish(entry, running);
      logger.info(() -> "box " + boxId + " spawned, shim pid " + started.pidRecord().pid());
      // A shim that already ended is recorded right here, under this lock; the answer then
      // shows the box EXITED.
      started.exit().thenAccept(exit -> onExit(entry, boxId, started.pidRecord(), exit));
      return entry.view;
    } finally {
      entry.lock.unlock();
    }
  }

  /**
   * Stops a running box: SIGTERM to the shim, SIGKILL to every process of the box after
   * {@code grace}. Returns when the box is EXITED; a box that is not running is returned as it
   * is.
   *
   * @throws JailerException NOT_FOUND for an unknown box
   */
  public BoxView stop(String boxId, Duration grace) {
    Entry entry = existing(boxId);
    entry.lock.lock();
    try {
      BoxView view = live(entry, boxId);
      if (view.state() != BoxState.RUNNING) {
        return view;
      }
      ExitRecord exit = spawner.stop(view, grace);
      return onExit(entry, boxId, view.pid().orElseThrow(), exit);
    } finally {
      entry.lock.unlock();
    }
  }

  /**
   * Describes one box. Never waits behind a Stage, Spawn or Stop of it.
   *
   * @throws JailerException NOT_FOUND for an unknown box
   */
  public BoxView inspect(String boxId) {
    BoxId.validate(boxId);
    Entry entry = boxes.get(boxId);
    if (entry == null || entry.view == null || entry.removed) {
      throw JailerException.notFound("no box " + boxId + "; Stage it first");
    }
    BoxView view = entry.view;
    if (view.state() == BoxState.RUNNING) {
      return view.withUsage(spawner.usage(view));
    }
    return view;
  }

  /** Every box (in {@code state}, when given), ordered by box id. */
  public List<BoxView> list(Optional<BoxState> state) {
    List<BoxView> result = new ArrayList<>();
    for (Entry entry : boxes.values()) {
      BoxView view = entry.view;
      if (view != null && !entry.removed && state.map(s -> s == view.state()).orElse(true)) {
        result.add(view);
      }
    }
    result.sort(Comparator.comparing(BoxView::boxId));
    return result;
  }

  /**
   * Deletes a box directory and its cgroup. Deletion never follows a symlink; a box that is
   * half gone (a crash during an earlier Remove) can be removed again.
   *
   * @param force stop a RUNNING box first instead of refusing it
   * @return the box as it was just before it was deleted
   * @throws JailerException NOT_FOUND, FAILED_PRECONDITION for a RUNNING box without force
   */
  public BoxView remove(String boxId, boolean force) {
    Entry entry = existing(boxId);
    entry.lock.lock();
    try {
      BoxView view = live(entry, boxId);
      if (view.state() == BoxState.RUNNING) {
        if (!force) {
          throw JailerException.failedPrecondition(
              "box " + boxId + " is running; Stop it first or remove it with force");
        }
        ExitRecord exit = spawner.stop(view, config.defaultStopGrace());
        view = onExit(entry, boxId, view.pid().orElseThrow(), exit);
      }
      spawner.release(view);
      deleteBoxDirectory(view.layout());
      entry.removed = true;
      boxes.remove(boxId, entry);
      BoxView last = view;
      watchers.forEach(w -> notify(w, new BoxEvent(last, true)));
      logger.info(() -> "box " + boxId + " removed");
      return view;
    } finally {
      entry.lock.unlock();
    }
  }

  /**
   * Registers a watcher of every box ({@code boxId} empty) or of one box. It first receives the
   * current state of each watched box, then every change, on the thread that made the change.
   *
   * @return closes the subscription; nothing of it stays behind afterwards
   */
  public AutoCloseable watch(Optional<String> boxId, Consumer<BoxEvent> watcher) {
    boxId.ifPresent(BoxId::validate);
    Consumer<BoxEvent> filtered =
        boxId.isEmpty()
            ? watcher
            : event -> {
              if (event.box().boxId().equals(boxId.get())) {
                watcher.accept(event);
              }
            };
    watchers.add(filtered);
    for (BoxView view : list(Optional.empty())) {
      if (boxId.isEmpty() || view.boxId().equals(boxId.get())) {
        notify(filtered, new BoxEvent(view, false));
      }
    }
    return () -> watchers.remove(filtered);
  }

  /** Number of registered watchers; lets tests see that a cancelled watch left nothing. */
  public int watcherCount() {
    return watchers.size();
  }

  @Override
  public void close() {
    watchers.clear();
    spawner.close();
  }

  private BoxView onExit(Entry entry, String boxId, PidRecord pid, ExitRecord exit) {
    entry.lock.lock();
    try {
      BoxView view = entry.view;
      if (view == null
          || view.state() != BoxState.RUNNING
          || view.pid().map(p -> p.pid() != pid.pid()).orElse(true)) {
        return view;
      }
      RecordFiles.write(view.layout().exitRecord(), exit);
      deleteIfExists(view.layout().pidRecord());
      BoxView exited =
          new BoxView(
              view.layout(),
              BoxState.EXITED,
              view.stage(),
              view.grants(),
              view.spawn(),
              Optional.empty(),
              Optional.of(exit),
              exit.usage(),
              exit.message());
      publish(entry, exited);
      logger.info(() -> "box " + boxId + " exited: " + exit.message());
      return exited;
    } finally {
      entry.lock.unlock();
    }
  }

  private void checkLibrariesUnchanged(String boxId, StageRecord stage) {
    List<String> changed =
        Stager.changedLibraries(
            stage.libraryFingerprint(), stager.fingerprintLibraries(Path.of(stage.shimDir())));
    if (!changed.isEmpty()) {
      throw JailerException.failedPrecondition(
          "the libraries of box " + boxId + " in " + stage.shimDir()
              + " changed since it was staged: " + String.join(", ", changed)
              + "; Stage the box again so that its shim and libkrunfw match them");
    }
  }

  private static void checkBinIntact(BoxLayout layout, StageRecord stage) {
    List<String> missing = new ArrayList<>();
    for (var file : stage.files()) {
      Path path = layout.bin().resolve(file.name());
      boolean present =
          file.isLink()
              ? Files.isSymbolicLink(path)
              : Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS);
      if (!present) {
        missing.add(file.name());
      }
    }
    if (!missing.isEmpty()) {
      throw JailerException.failedPrecondition(
          "box " + layout.boxId() + " lost staged files from " + layout.bin() + ": "
              + String.join(", ", missing) + "; Stage it again");
    }
  }

  private Entry existing(String boxId) {
    BoxId.validate(boxId);
    Entry entry = boxes.get(boxId);
    if (entry == null) {
      throw JailerException.notFound("no box " + boxId + "; Stage it first");
    }
    return entry;
  }

  private static BoxView live(Entry entry, String boxId) {
    if (entry.removed || entry.view == null) {
      throw JailerException.notFound("no box " + boxId + "; Stage it first");
    }
    return entry.view;
  }

  private void publish(Entry entry, BoxView view) {
    entry.view = view;
    BoxEvent event = new BoxEvent(view, false);
    watchers.forEach(w -> notify(w, event));
  }

  private static void notify(Consumer<BoxEvent> watcher, BoxEvent event) {
    try {
      watcher.accept(event);
    } catch (RuntimeException e) {
      logger.log(Level.FINE, "a watcher failed; it is left to unsubscribe itself", e);
    }
  }

  private void prepareStateDir() {
    Path boxesDir = BoxLayout.boxesDir(config.stateDir());
    try {
      // Traverse-only for others: box users must reach their own box directories, but nobody
      // else may list which boxes exist.
      for (Path dir : List.of(boxesDir.getParent(), boxesDir)) {
        if (!Files.isDirectory(dir)) {
          Files.createDirectories(dir);
          Files.setPosixFilePermissions(dir,
              java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        }
      }
    } catch (IOException e) {
      throw JailerException.internal(
          "cannot create the state directory " + boxesDir + ": " + e.getMessage(), e);
    }
  }

  private void recover() {
    Path boxesDir = BoxLayout.boxesDir(config.stateDir());
    List<BoxView> views = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(boxesDir)) {
      for (Path dir : entries) {
        String name = dir.getFileName().toString();
        if (name.startsWith(REMOVING_PREFIX)) {
          deleteTree(dir);
          continue;
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        try {
          BoxId.validate(name);
        } catch (JailerException e) {
          logger.warning(() -> "ignoring " + dir + ": not a box directory name");
          continue;
        }
        views.add(recoverBox(new BoxLayout(dir)));
      }
    } catch (IOException e) {
      throw JailerException.internal("cannot read " + boxesDir + ": " + e.getMessage(), e);
    }
    for (BoxView view : views) {
      Entry entry = new Entry(view);
      boxes.put(view.boxId(), entry);
      if (view.state() == BoxState.RUNNING) {
        PidRecord pid = view.pid().orElseThrow();
        spawner.reattach(view).thenAccept(exit -> onExit(entry, view.boxId(), pid, exit));
      }
    }
    spawner.removeOrphans(boxes.keySet());
    logger.info(() -> "recovered " + views.size() + " boxes from " + boxesDir);
  }

  private BoxView recoverBox(BoxLayout layout) {
    cleanTemporaryFiles(layout);
    Optional<StageRecord> stage = readQuietly(layout.stageRecord(), StageRecord.class);
    if (stage.isEmpty()) {
      return new BoxView(layout, BoxState.STAGED, Optional.empty(), ImmutableList.of(),
          Optional.empty(), Optional.empty(), Optional.empty(), Usage.NONE,
          "incomplete: no stage record (a Stage or Remove was interrupted); Stage or Remove it");
    }
    ImmutableList<dev.jailer.core.sandbox.PathGrant> grants = BoxGrants.of(layout, stage.get());
    Optional<SpawnRecord> spawn = readQuietly(layout.spawnRecord(), SpawnRecord.class);
    Optional<ExitRecord> exit = readQuietly(layout.exitRecord(), ExitRecord.class);
    Optional<PidRecord> pid = readQuietly(layout.pidRecord(), PidRecord.class);
    if (exit.isPresent()) {
      return new BoxView(layout, BoxState.EXITED, stage, grants, spawn, Optional.empty(), exit,
          exit.get().usage(), exit.get().message());
    }
    if (pid.isPresent()) {
      BoxView running = new BoxView(layout, BoxState.RUNNING, stage, grants, spawn, pid,
          Optional.empty(), Usage.NONE, "running (re-attached after a restart)");
      Optional<ExitRecord> ended = spawner.endedWhileAway(running);
      if (ended.isPresent()) {
        RecordFiles.write(layout.exitRecord(), ended.get());
        deleteIfExists(layout.pidRecord());
        return new BoxView(layout, BoxState.EXITED, stage, grants, spawn, Optional.empty(),
            ended, ended.get().usage(), ended.get().message());
      }
      return running;
    }
    return new BoxView(layout, BoxState.STAGED, stage, grants, spawn, Optional.empty(),
        Optional.empty(), Usage.NONE, "staged");
  }

  private static void cleanTemporaryFiles(BoxLayout layout) {
    for (Path dir : List.of(layout.bin(), layout.jailer())) {
      try (DirectoryStream<Path> entries =
          Files.newDirectoryStream(dir, RecordFiles.TEMP_PREFIX + "*")) {
        for (Path tmp : entries) {
          Files.deleteIfExists(tmp);
        }
      } catch (NoSuchFileException e) {
        // An incomplete box may lack either directory.
      } catch (IOException e) {
        logger.warning(() -> "cannot clean temporary files in " + dir + ": " + e.getMessage());
      }
    }
  }

  private static <T> Optional<T> readQuietly(Path file, Class<T> type) {
    try {
      return RecordFiles.read(file, type);
    } catch (JailerException e) {
      logger.warning(() -> e.getMessage() + "; treating the record as missing");
      return Optional.empty();
    }
  }

  private void deleteBoxDirectory(BoxLayout layout) {
    Path dir = layout.dir();
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    // Renaming first makes Remove all-or-nothing from a reader's point of view: a crash leaves a
    // ".removing-" directory that the next start deletes, never a half-deleted box.
    Path doomed =
        dir.resolveSibling(
            REMOVING_PREFIX + layout.boxId() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    try {
      Files.move(dir, doomed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw JailerException.internal("cannot remove " + dir + ": " + e.getMessage(), e);
    }
    deleteTree(doomed);
  }

  private void deleteTree(Path dir) {
    try {
      // Guava deletes through a SecureDirectoryStream where the platform has one (Linux), so a
      // symlink the shim planted is removed itself and never followed.
      if (config.platform() == Platform.LINUX) {
        MoreFiles.deleteRecursively(dir);
      } else {
        // Limitation: the JDK has no SecureDirectoryStream on macOS; Guava's fallback checks
        // each entry for a symlink before descending, which a shim still running could race.
        // Boxes are stopped before they are removed, which closes that window in practice.
        MoreFiles.deleteRecursively(dir, RecursiveDeleteOption.ALLOW_INSECURE);
      }
    } catch (IOException e) {
      throw JailerException.internal("cannot delete " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void deleteIfExists(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw JailerException.internal("cannot delete " + file + ": " + e.getMessage(), e);
    }
  }
}
