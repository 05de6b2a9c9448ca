package dev.jailer.server;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.BoxUsers;
import dev.jailer.core.Jailer;
import dev.jailer.core.JailerConfig;
import dev.jailer.core.JailerException;
import dev.jailer.core.Platform;
import dev.jailer.core.sandbox.Spawners;
import io.grpc.BindableService;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;
import sun.misc.Signal;

/**
 * The {@code jailer-server} command: parses the flags, configures logging, starts a
 * {@link JailerServer} and runs until SIGTERM or SIGINT, then stops it within the shutdown
 * grace and exits with status 0.
 *
 * <p>Exit status: 0 after a normal stop or {@code --help}; 1 when the server cannot start; 2 for
 * a bad flag.
 */
public final class JailerServerMain {
  private static final Logger logger = Logger.getLogger(JailerServerMain.class.getName());

  // Held so that the level set on it survives: the log manager keeps loggers only weakly.
  private static final Logger JAILER_LOGGER = Logger.getLogger("dev.jailer");

  /** Exit status for a flag that is unknown, malformed or contradicts another. */
  static final int EXIT_BAD_FLAGS = 2;

  /** Exit status when the server cannot start. */
  static final int EXIT_CANNOT_START = 1;

  private JailerServerMain() {}

  /**
   * What {@link #createService} hands to the server: the Jailer service itself, the core it
   * translates for, and why the host cannot build the sandbox (empty when it can), which makes
   * health NOT_SERVING.
   */
  record Wiring(BindableService service, Jailer jailer, Optional<String> sandboxProblem) {
    Wiring {
      requireNonNull(service, "service");
      requireNonNull(jailer, "jailer");
      requireNonNull(sandboxProblem, "sandboxProblem");
    }
  }

  /**
   * Opens the state directory (re-attaching to running boxes) and builds the service.
   *
   * @throws ServerStartException when the state directory or the box user is unusable
   */
  static Wiring createService(ServerOptions options) throws ServerStartException {
    JailerConfig config = coreConfig(options);
    Jailer jailer;
    try {
      jailer = new Jailer(config, Spawners.forHost(config));
    } catch (JailerException e) {
      throw new ServerStartException(e.getMessage(), e);
    }
    Optional<String> problem = jailer.sandboxProblem();
    return new Wiring(new JailerService(jailer), jailer, problem);
  }

  /** The core's configuration from the server's flags. */
  static JailerConfig coreConfig(ServerOptions options) {
    BoxUsers users =
        options.boxUidRange()
            .map(r -> BoxUsers.range(r.first(), r.last()))
            .orElseGet(() -> BoxUsers.fixed(
                options.boxUser().orElse(ServerOptions.DEFAULT_BOX_USER)));
    return new JailerConfig(
        options.stateDir(),
        Platform.current(),
        ImmutableList.copyOf(options.allowedShimDirs()),
        ImmutableList.copyOf(options.allowedVolumeRoots()),
        ImmutableList.copyOf(options.allowedSeccompDirs()),
        options.cgroupParent(),
        users,
        JailerConfig.DEFAULT_LIMITS,
        Duration.ofSeconds(10),
        options.development());
  }

  /** Runs the server; see the class comment for the exit status. Never returns normally. */
  public static void main(String[] args) {
    ServerOptions options;
    try {
      options = ServerOptions.parse(args);
    } catch (InvalidFlagException e) {
      System.err.println("jailer-server: " + e.getMessage());
      System.err.println("Run 'jailer-server --help' to list every flag.");
      System.exit(EXIT_BAD_FLAGS);
      return;
    }
    if (options.helpRequested()) {
      System.out.print(ServerOptions.helpText());
      System.out.flush();
      System.exit(0);
      return;
    }

    configureLogging(options.logLevel(), System.err);
    if (options.development()) {
      logger.warning(
          "DEVELOPMENT MODE: boxes run WITHOUT any sandbox, with the server's own rights;"
              + " never use --development in production");
    }
    JailerServer server;
    Wiring wiring;
    try {
      wiring = createService(options);
      server = JailerServer.start(options, wiring.service(), wiring.sandboxProblem());
    } catch (ServerStartException e) {
      logger.log(Level.SEVERE, "cannot start: " + e.getMessage(), e.getCause());
      System.exit(EXIT_CANNOT_START);
      return;
    }

    watchSandbox(server, wiring.jailer());

    // The JVM's own SIGTERM handling runs the shutdown hooks but then exits with 143; handling
    // the signals here lets an orderly stop end with status 0, as service managers expect.
    Signal.handle(new Signal("TERM"), signal -> stopAndExit(server, "SIGTERM"));
    Signal.handle(new Signal("INT"), signal -> stopAndExit(server, "SIGINT"));
    // Any other exit (System.exit elsewhere, SIGHUP) still stops the listeners and removes the
    // socket files.
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "jailer-shutdown"));
    try {
      server.awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // The listeners end before the stop is complete (sockets removed, "stopped" logged). Joining
    // the stop here keeps the JVM from exiting, and resetting the log handlers, under it.
    server.shutdown();
  }

  // The host can lose (or gain) what sandboxes need while the server runs, for example a
  // removed package or a cgroup hierarchy unmounted: health follows it.
  private static void watchSandbox(JailerServer server, Jailer jailer) {
    ScheduledExecutorService checker =
        Executors.newSingleThreadScheduledExecutor(runnable -> {
          Thread thread = new Thread(runnable, "jailer-sandbox-check");
          thread.setDaemon(true);
          return thread;
        });
    checker.scheduleWithFixedDelay(
        () -> server.setSandboxProblem(jailer.sandboxProblem()), 30, 30, TimeUnit.SECONDS);
  }

  private static void stopAndExit(JailerServer server, String signal) {
    logger.info(signal + " received; stopping");
    server.shutdown();
    System.exit(0);
  }

  /**
   * Sends every log record to {@code out}, one line each. The server's own loggers
   * ({@code dev.jailer}) log at {@code level}; gRPC and Netty log at INFO or above (or at
   * {@code level} when it is less verbose), so FINE shows per-call lines without library noise.
   */
  static void configureLogging(Level level, PrintStream out) {
    LogManager.getLogManager().reset();
    Handler handler =
        new StreamHandler(out, new OneLineFormatter()) {
          @Override
          public synchronized void publish(LogRecord record) {
            super.publish(record);
            // A daemon's log must not sit in a buffer when it dies.
            flush();
          }
        };
    handler.setLevel(Level.ALL);
    Logger root = Logger.getLogger("");
    root.addHandler(handler);
    root.setLevel(level.intValue() > Level.INFO.intValue() ? level : Level.INFO);
    JAILER_LOGGER.setLevel(level);
  }
}
