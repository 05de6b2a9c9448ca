package dev.jailer.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds the C programs of the tests with the host's gcc. */
public final class Gcc {
  private Gcc() {}

  public static boolean isAvailable() {
    return Files.isExecutable(Path.of("/usr/bin/gcc"));
  }

  /** Copies a test resource next to {@code dir} and returns its path. */
  public static Path resource(Class<?> anchor, String name, Path dir) throws IOException {
    try (InputStream in = anchor.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("missing test resource " + name);
      }
      Path file = dir.resolve(name);
      Files.write(file, in.readAllBytes());
      return file;
    }
  }

  /** Runs gcc with {@code args}; fails the test with gcc's output when it fails. */
  public static void run(String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>();
    argv.add("/usr/bin/gcc");
    argv.addAll(List.of(args));
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("gcc " + argv + " failed:\n" + output);
    }
  }
}
