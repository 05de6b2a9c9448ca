package dev.jailer.server;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One {@code --listen} address: {@code unix:/absolute/path} for a Unix socket, or
 * {@code host:port} (an IPv6 literal as {@code [::1]:port}) for TCP. Only the syntax is checked
 * here; whether the server may listen there is decided at start-up by {@link JailerServer}.
 */
public final class ListenAddress {
  private static final String UNIX_PREFIX = "unix:";

  private final Path unixPath;
  private final String host;
  private final int port;

  private ListenAddress(Path unixPath, String host, int port) {
    this.unixPath = unixPath;
    this.host = host;
    this.port = port;
  }

  /** A Unix socket address; {@code path} must be absolute. */
  public static ListenAddress unix(Path path) {
    requireNonNull(path, "path");
    if (!path.isAbsolute()) {
      throw new IllegalArgumentException("unix socket path must be absolute: " + path);
    }
    return new ListenAddress(path.normalize(), null, 0);
  }

  /**
   * Parses {@code unix:/absolute/path}, {@code unix:///absolute/path}, {@code host:port} or
   * {@code [v6-literal]:port}; port 0 asks the system for a free port.
   *
   * @throws IllegalArgumentException with a one-line reason when the value is malformed
   */
  public static ListenAddress parse(String value) {
    requireNonNull(value, "value");
    if (value.startsWith(UNIX_PREFIX)) {
      String rest = value.substring(UNIX_PREFIX.length());
      if (rest.startsWith("//")) {
        rest = rest.substring(2);
      }
      if (!rest.startsWith("/") || rest.startsWith("//")) {
        throw new IllegalArgumentException(
            "'" + value + "' needs an absolute path, e.g. unix:/run/jailer/jailer.sock");
      }
      return unix(Path.of(rest));
    }
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException(
          "'" + value + "' is neither unix:/absolute/path nor host:port");
    }
    String hostPart = value.substring(0, colon);
    if (hostPart.startsWith("[") && hostPart.endsWith("]")) {
      hostPart = hostPart.substring(1, hostPart.length() - 1);
    } else if (hostPart.indexOf(':') >= 0) {
      throw new IllegalArgumentException(
          "'" + value + "': write an IPv6 address in brackets, e.g. [::1]:7000");
    }
    if (hostPart.isEmpty()) {
      throw new IllegalArgumentException("'" + value + "' has no host");
    }
    int parsedPort;
    try {
      parsedPort = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + value + "': the port is not a number", e);
    }
    if (parsedPort < 0 || parsedPort > 65535) {
      throw new IllegalArgumentException("'" + value + "': the port is outside 0-65535");
    }
    return new ListenAddress(null, hostPart, parsedPort);
  }

  /** True for a Unix socket address. */
  public boolean isUnix() {
    return unixPath != null;
  }

  /** The socket path of a Unix address; empty for TCP. */
  public Optional<Path> unixPath() {
    return Optional.ofNullable(unixPath);
  }

  /** The host (name or literal, without brackets) of a TCP address; empty for Unix. */
  public Optional<String> host() {
    return Optional.ofNullable(host);
  }

  /** The port of a TCP address (0: any free port); 0 for Unix. */
  public int port() {
    return port;
  }

  /** The address as {@code --listen} takes it, e.g. {@code unix:/run/j.sock} or {@code [::1]:7}. */
  @Override
  public String toString() {
    if (unixPath != null) {
      return UNIX_PREFIX + unixPath;
    }
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ListenAddress && toString().equals(o.toString());
  }

  @Override
  public int hashCode() {
    return Objects.hash(toString());
  }
}
