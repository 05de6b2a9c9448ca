package dev.jailer.core.sandbox;

import dev.jailer.core.JailerException;
import dev.jailer.core.box.BoxView;
import dev.jailer.core.box.ExitRecord;
import dev.jailer.core.box.Usage;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.spawn.Spawner;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * The spawner of a host that cannot sandbox at all: every Spawn fails with the reason. Staging,
 * Inspect and Remove keep working, so boxes can still be prepared and cleaned up.
 */
public class UnavailableSpawner implements Spawner {
  private final String reason;

  public UnavailableSpawner(String reason) {
    this.reason = reason;
  }

  @Override
  public String kind() {
    return "none";
  }

  @Override
  public Optional<String> problem() {
    return Optional.of(reason);
  }

  @Override
  public Started start(BoxView box, SpawnOptions options, BooleanSupplier cancelled) {
    throw JailerException.failedPrecondition("cannot spawn box " + box.boxId() + ": " + reason);
  }

  @Override
  public ExitRecord stop(BoxView box, Duration grace) {
    return new ExitRecord(-1, 0, false, Usage.NONE, System.currentTimeMillis(),
        "not followed by this server: " + reason);
  }

  @Override
  public Usage usage(BoxView box) {
    return Usage.NONE;
  }

  @Override
  public CompletableFuture<ExitRecord> reattach(BoxView box) {
    return new CompletableFuture<>();
  }

  @Override
  public Optional<ExitRecord> endedWhileAway(BoxView box) {
    return Optional.empty();
  }

  @Override
  public void release(BoxView box) {}

  @Override
  public void removeOrphans(Set<String> boxIds) {}

  @Override
  public void close() {}
}
