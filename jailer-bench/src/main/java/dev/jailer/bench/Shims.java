package dev.jailer.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the benchmark's shim directories with gcc: a small real program that writes "ready"
 * on its stdout and then sleeps until it is signalled, and a shared library standing in for
 * libkrunfw, with its two version symlinks.
 *
 * <p>The large set pads both to the sizes of a real release (a 10 MiB shim and a 24 MiB
 * libkrunfw): an initialised array puts most of the bytes in {@code .data}, and the file is
 * then extended with zeros to the exact size, which the ELF loader ignores, so both stay
 * loadable.
 */
final class Shims {
  static final String SHIM_NAME = "bench-shim";
  static final String KRUNFW_REAL = "libkrunfw.so.5.2.1";
  static final long BIG_SHIM_BYTES = 10L << 20;
  static final long BIG_KRUNFW_BYTES = 24L << 20;
  private static final long SLACK = 64 << 10;

  private static final String SHIM_C =
      String.join("\n",
          "#include <unistd.h>",
          "/* Initialised, so it is stored in .data and gives the file its size. */",
          "volatile char pad[PAD_BYTES] = {1};",
          "int main(void) {",
          "  if (pad[0] != 1 || write(1, \"ready\\n\", 6) != 6) return 1;",
          "  for (;;) pause();",
          "}",
          "");
  private static final String KRUNFW_C =
      String.join("\n",
          "volatile char kernel_bundle[PAD_BYTES] = {1};",
          "const char *krunfw_version(void) { return \"5.2.1\"; }",
          "");

  private Shims() {}

  /** A shim directory: the shim's path and the bytes one box needs in {@code bin/}. */
  record ShimDir(Path dir, Path shim, long shimBytes, long krunfwBytes) {}

  /**
   * Builds a shim directory in {@code dir}; {@code big} pads to the sizes of a real release.
   *
   * @throws IOException when gcc fails or a file cannot be written
   */
  static ShimDir build(Path dir, boolean big) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path src = dir.getParent().resolve(dir.getFileName() + "-src");
    Files.createDirectories(src);
    Files.writeString(src.resolve("shim.c"), SHIM_C);
    Files.writeString(src.resolve("krunfw.c"), KRUNFW_C);
    Path shim = dir.resolve(SHIM_NAME);
    Path krunfw = dir.resolve(KRUNFW_REAL);
    long shimPad = big ? BIG_SHIM_BYTES - SLACK : 1;
    long krunfwPad = big ? BIG_KRUNFW_BYTES - SLACK : 1;
    gcc(List.of("-O2", "-DPAD_BYTES=" + shimPad, "-o", shim.toString(),
        src.resolve("shim.c").toString()));
    gcc(List.of("-O2", "-shared", "-fPIC", "-DPAD_BYTES=" + krunfwPad, "-o", krunfw.toString(),
        src.resolve("krunfw.c").toString()));
    if (big) {
      extendTo(shim, BIG_SHIM_BYTES);
      extendTo(krunfw, BIG_KRUNFW_BYTES);
    }
    Files.setPosixFilePermissions(shim, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(krunfw, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(dir.resolve("libkrunfw.so.5"), Path.of(KRUNFW_REAL));
    Files.createSymbolicLink(dir.resolve("libkrunfw.so"), Path.of("libkrunfw.so.5"));
    return new ShimDir(dir, shim, Files.size(shim), Files.size(krunfw));
  }

  private static void gcc(List<String> args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("gcc");
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    if (process.waitFor() != 0) {
      throw new IOException("gcc failed: " + String.join(" ", command) + "\n" + output);
    }
  }

  private static void extendTo(Path file, long size) throws IOException {
    long now = Files.size(file);
    if (now > size) {
      throw new IOException(file + " is already " + now + " bytes, over " + size);
    }
    // Real zeros, not a hole: a sparse file would copy faster than any real release.
    try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
      out.seek(now);
      out.write(new byte[(int) (size - now)]);
    }
  }
}
