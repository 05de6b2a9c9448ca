package dev.jailer.client;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.grpc.stub.ClientCallStreamObserver;

/**
 * A running {@link JailerClient#watch Watch} stream. Closing it (or calling {@link #cancel()})
 * ends the stream; {@link #done()} tells how it ended.
 */
public final class WatchHandle implements AutoCloseable {
  private final SettableFuture<Void> done = SettableFuture.create();
  private volatile ClientCallStreamObserver<?> call;
  private volatile boolean cancelled;

  WatchHandle() {}

  void attach(ClientCallStreamObserver<?> call) {
    this.call = call;
  }

  boolean cancelledByCaller() {
    return cancelled;
  }

  SettableFuture<Void> doneFuture() {
    return done;
  }

  /**
   * Ends the stream. No event is delivered after the stream has ended; one already being
   * delivered on another thread may still finish. Idempotent.
   */
  public void cancel() {
    cancelled = true;
    ClientCallStreamObserver<?> current = call;
    if (current != null) {
      current.cancel("watch cancelled by the caller", null);
    }
  }

  /**
   * Completes when the stream has ended: successfully when the server ended it or the caller
   * cancelled it, with a {@link JailerClientException} when it failed (server error, lost
   * connection).
   */
  public ListenableFuture<Void> done() {
    return done;
  }

  /** Same as {@link #cancel()}. */
  @Override
  public void close() {
    cancel();
  }
}
