package dev.jailer.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.box.BoxEvent;
import dev.jailer.core.box.BoxState;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.RecordFiles;
import dev.jailer.core.sandbox.UnavailableSpawner;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.testing.ShimDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stage, List, Watch, Remove and restart of boxes that are never spawned. */
class JailerLifecycleTest {
  @TempDir Path tmp;
  private ShimDirectory shim;
  private Jailer jailer;

  @BeforeEach
  void setUp() throws IOException {
    shim = ShimDirectory.create(tmp.resolve("opt/shim"));
    jailer = open();
  }

  private Jailer open() {
    return new Jailer(JailerConfig.of(tmp.resolve("state"), List.of(shim.dir())),
        new UnavailableSpawner("no sandbox in this test"));
  }

  @AfterEach
  void tearDown() {
    jailer.close();
  }

  private BoxView stage(String boxId) {
    return jailer.stage(boxId, shim.shim().toString(), List.of());
  }

  @Test
  void list_boxes_orderedByIdAndFilteredByState() {
    stage("b");
    stage("a");
    stage("c");

    assertEquals(List.of("a", "b", "c"),
        jailer.list(Optional.empty()).stream().map(BoxView::boxId).toList());
    assertEquals(3, jailer.list(Optional.of(BoxState.STAGED)).size());
    assertEquals(0, jailer.list(Optional.of(BoxState.RUNNING)).size());
  }

  @Test
  void inspect_unknownBox_notFound() {
    JailerException e = assertThrows(JailerException.class, () -> jailer.inspect("ghost"));

    assertEquals(JailerException.Kind.NOT_FOUND, e.kind());
  }

  @Test
  void stage_refusedRequestForNewBox_leavesNoBoxBehind() {
    assertThrows(JailerException.class, () -> jailer.stage("bad", "relative", List.of()));

    assertTrue(jailer.list(Optional.empty()).isEmpty());
    assertFalse(Files.exists(tmp.resolve("state/boxes/bad")));
  }

  @Test
  void spawn_hostCannotSandbox_failedPreconditionWithReason() {
    stage("box");

    JailerException e = assertThrows(JailerException.class,
        () -> jailer.spawn("box", new SpawnOptions(ImmutableList.of(),
            ImmutableMap.of(), false, JailerConfig.DEFAULT_LIMITS, "",
            null), () -> false));

    assertEquals(JailerException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("no sandbox in this test"), e.getMessage());
  }

  @Test
  void watch_seesCurrentStateFirstThenChangesAndNothingAfterClose() throws Exception {
    stage("existing");
    List<BoxEvent> events = new CopyOnWriteArrayList<>();

    AutoCloseable subscription = jailer.watch(Optional.empty(), events::add);
    stage("new");
    jailer.remove("existing", false);
    subscription.close();
    stage("after");

    assertEquals(List.of("existing:false", "new:false", "existing:true"),
        events.stream().map(e -> e.box().boxId() + ":" + e.removed()).toList());
    assertEquals(0, jailer.watcherCount());
  }

  @Test
  void watch_oneBox_seesOnlyThatBox() throws Exception {
    List<BoxEvent> events = new CopyOnWriteArrayList<>();

    try (AutoCloseable subscription = jailer.watch(Optional.of("mine"), events::add)) {
      stage("other");
      stage("mine");
    }

    assertEquals(List.of("mine"), events.stream().map(e -> e.box().boxId()).toList());
  }

  @Test
  void remove_box_deletesDirectoryWithoutFollowingPlantedSymlinks() throws IOException {
    BoxView box = stage("gone");
    Path victim = Files.createDirectories(tmp.resolve("victim"));
    Files.writeString(victim.resolve("keep"), "precious");
    Files.createSymbolicLink(box.layout().shared().resolve("link"), victim);

    jailer.remove("gone", false);

    assertFalse(Files.exists(box.layout().dir()));
    assertEquals("precious", Files.readString(victim.resolve("keep")));
    assertThrows(JailerException.class, () -> jailer.inspect("gone"));
  }

  @Test
  void restart_stagedBoxesAreListedAgain() {
    stage("one");
    stage("two");
    jailer.close();

    jailer = open();

    assertEquals(List.of("one", "two"),
        jailer.list(Optional.empty()).stream().map(BoxView::boxId).toList());
    assertEquals(4, jailer.inspect("one").stage().orElseThrow().files().size());
  }

  @Test
  void restart_afterCrashDuringStageAndRemove_leavesNoTemporaryFilesAndBoxesRemovable()
      throws IOException {
    BoxView box = stage("crashed");
    Path leftover = RecordFiles.tempSibling(box.layout().bin().resolve("box-shim"));
    Files.writeString(leftover, "half a shim");
    Path halfRemoved = tmp.resolve("state/boxes/.removing-old-1234");
    Files.createDirectories(halfRemoved.resolve("bin"));
    Path incomplete = Files.createDirectories(tmp.resolve("state/boxes/incomplete/bin"));
    jailer.close();

    jailer = open();

    assertFalse(Files.exists(leftover));
    assertFalse(Files.exists(halfRemoved));
    assertTrue(jailer.inspect("incomplete").statusMessage().startsWith("incomplete"));
    jailer.remove("incomplete", false);
    assertFalse(Files.exists(incomplete.getParent()));
  }
  @Test
  void slowSpawn_doesNotBlockInspectListOrOtherBoxes() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    jailer.close();
    jailer = new Jailer(JailerConfig.of(tmp.resolve("state"), List.of(shim.dir())),
        new UnavailableSpawner("slow") {
          @Override
          public Started start(BoxView box, SpawnOptions options, BooleanSupplier cancelled) {
            entered.countDown();
            awaitQuietly(release);
            return super.start(box, options, cancelled);
          }
        });
    stage("slow");
    ExecutorService pool = Executors.newSingleThreadExecutor();
    Future<?> spawn = pool.submit(() -> jailer.spawn("slow", new SpawnOptions(
        ImmutableList.of(), ImmutableMap.of(), false, JailerConfig.DEFAULT_LIMITS, "", null),
        () -> false));
    assertTrue(entered.await(10, TimeUnit.SECONDS));

    BoxView inspected = jailer.inspect("slow");
    List<BoxView> listed = jailer.list(Optional.empty());
    BoxView other = stage("other");

    assertEquals(BoxState.STAGED, inspected.state());
    assertEquals(1, listed.size());
    assertEquals(BoxState.STAGED, other.state());
    assertFalse(spawn.isDone());
    release.countDown();
    ExecutionException failure = assertThrows(ExecutionException.class,
        () -> spawn.get(10, TimeUnit.SECONDS));
    assertTrue(failure.getCause() instanceof JailerException);
    pool.shutdown();
  }

  @Test
  void stage_concurrentCallsOnOneBox_serializedAndConsistent() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<BoxView>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 32; i++) {
      calls.add(pool.submit(() -> stage("shared")));
    }
    int copiedShims = 0;
    for (Future<BoxView> call : calls) {
      BoxView box = call.get(30, TimeUnit.SECONDS);
      copiedShims += box.stage().orElseThrow().files().stream()
          .filter(f -> f.name().equals("box-shim") && f.copied()).count();
    }
    pool.shutdown();

    // Exactly one call found the box new and copied; the others saw it unchanged.
    assertEquals(1, copiedShims);
    try (var entries = Files.list(tmp.resolve("state/boxes/shared/bin"))) {
      assertEquals(4, entries.count());
    }
  }

  @Test
  void open_newStateDirectory_othersMayTraverseButNotList() throws IOException {
    for (Path dir : List.of(tmp.resolve("state"), tmp.resolve("state/boxes"))) {
      assertEquals("rwx--x--x", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(dir)), dir.toString());
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
