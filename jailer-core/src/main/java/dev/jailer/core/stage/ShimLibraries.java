package dev.jailer.core.stage;

import dev.jailer.core.Platform;
import java.util.regex.Pattern;

/**
 * Which file names of the shim's directory travel with the shim, and which stay behind.
 *
 * <p>Only libkrunfw is copied: libkrun {@code dlopen}s it by name, and the copy in {@code bin/}
 * is the one the loader must find (DESIGN.md section 1). Every other library stays where it was
 * installed and is fingerprinted, so a host upgrade after Stage is noticed by Spawn.
 */
public final class ShimLibraries {
  // libkrunfw.so, libkrunfw.so.5, libkrunfw.so.5.2.1 (not libkrunfw.a or libkrunfw.so.bak).
  private static final Pattern LINUX_KRUNFW = Pattern.compile("libkrunfw\\.so(\\.[0-9]+)*");
  // libkrunfw.dylib, libkrunfw.5.dylib, libkrunfw.5.2.1.dylib.
  private static final Pattern MACOS_KRUNFW = Pattern.compile("libkrunfw(\\.[0-9]+)*\\.dylib");
  private static final Pattern LINUX_LIBRARY = Pattern.compile(".+\\.so(\\.[0-9]+)*");
  private static final Pattern MACOS_LIBRARY = Pattern.compile(".+\\.dylib");

  private final Platform platform;

  public ShimLibraries(Platform platform) {
    this.platform = platform;
  }

  /** True for a name of the libkrunfw family, which is copied into {@code bin/}. */
  public boolean isKrunfw(String name) {
    return (platform == Platform.MACOS ? MACOS_KRUNFW : LINUX_KRUNFW).matcher(name).matches();
  }

  /** True for a shared library that stays in the shim's directory and is fingerprinted. */
  public boolean isLibraryLeftBehind(String name) {
    if (isKrunfw(name)) {
      return false;
    }
    return (platform == Platform.MACOS ? MACOS_LIBRARY : LINUX_LIBRARY).matcher(name).matches();
  }

  /** The name libkrun asks the loader for, used in messages. */
  public String loadedName() {
    return platform == Platform.MACOS ? "libkrunfw.5.dylib" : "libkrunfw.so.5";
  }
}
