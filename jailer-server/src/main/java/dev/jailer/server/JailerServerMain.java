package dev.jailer.server;

import static java.util.Objects.requireNonNull;

import dev.jailer.v1.JailerGrpc;
import io.grpc.BindableService;
import java.io.PrintStream;
import java.util.Optional;
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
   * What {@link #createService} hands to the server: the Jailer service itself, and why the
   * host cannot build the sandbox (empty when it can), which makes health NOT_SERVING.
   */
  record Wiring(BindableService service, Optional<String> sandboxProblem) {
    Wiring {
      requireNonNull(service, "service");
      requireNonNull(sandboxProblem, "sandboxProblem");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // SEAM: the one place where the Jailer service is created from the options. Everything else
  // in this class (flags, logging, listeners, health, reflection, signals) is independent of it.
  // Until the service over jailer-core is wired here, every RPC answers UNIMPLEMENTED.
  // ---------------------------------------------------------------------------------------------
  static Wiring createService(ServerOptions options) {
    // Limitation: no Jailer RPC is implemented behind this entry point yet; each answers
    // UNIMPLEMENTED while health and reflection already work.
    return new Wiring(new JailerGrpc.JailerImplBase() {}, Optional.empty());
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
    try {
      Wiring wiring = createService(options);
      server = JailerServer.start(options, wiring.service(), wiring.sandboxProblem());
    } catch (ServerStartException e) {
      logger.log(Level.SEVERE, "cannot start: " + e.getMessage(), e.getCause());
      System.exit(EXIT_CANNOT_START);
      return;
    }

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
