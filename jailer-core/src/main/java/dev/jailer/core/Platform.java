package dev.jailer.core;

import java.util.Locale;

/**
 * The host operating systems Jailer knows. Every platform-dependent decision asks this enum
 * instead of reading {@code os.name} itself.
 */
public enum Platform {
  LINUX(107),
  MACOS(103),
  OTHER(103);

  private final int maxSocketPathBytes;

  Platform(int maxSocketPathBytes) {
    this.maxSocketPathBytes = maxSocketPathBytes;
  }

  /** The platform this JVM runs on. */
  public static Platform current() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (os.startsWith("linux")) {
      return LINUX;
    }
    if (os.startsWith("mac") || os.startsWith("darwin")) {
      return MACOS;
    }
    return OTHER;
  }

  /**
   * Longest Unix socket path in bytes, without the terminating NUL: {@code sun_path} is 108
   * bytes on Linux and 104 on macOS, and the kernel wants the NUL inside it.
   */
  public int maxSocketPathBytes() {
    return maxSocketPathBytes;
  }
}
