package dev.jailer.server;

import static dev.jailer.server.ServerTestSupport.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.testing.Prerequisites;
import dev.jailer.client.ErrorCode;
import dev.jailer.client.JailerClient;
import dev.jailer.client.JailerClientException;
import dev.jailer.server.ServerTestSupport.CannedJailer;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JailerServerTcpTest {
  @TempDir Path tmp;

  private final List<JailerServer> servers = new ArrayList<>();

  @AfterEach
  void stopServers() {
    servers.forEach(s -> s.shutdown(Duration.ZERO));
  }

  private JailerServer start(String... args) throws Exception {
    JailerServer server = JailerServer.start(options(args), new CannedJailer(), Optional.empty());
    servers.add(server);
    return server;
  }

  private static String port(JailerServer server) {
    String target = server.targets().get(0);
    return target.substring(target.lastIndexOf(':') + 1);
  }

  @Test
  void start_plaintextLoopbackWithoutFlag_refused() {
    ServerStartException e =
        assertThrows(ServerStartException.class, () -> start("--listen", "127.0.0.1:0"));

    assertTrue(
        e.getMessage().startsWith("refusing plaintext TCP on 127.0.0.1:0: every local user"),
        e.getMessage());
  }

  @Test
  void start_plaintextLoopbackWithFlag_servesOnBoundPort() throws Exception {
    JailerServer server = start("--listen", "127.0.0.1:0", "--insecure-loopback-tcp");

    String target = server.targets().get(0);
    assertTrue(target.startsWith("127.0.0.1:") && !target.endsWith(":0"), target);
    try (JailerClient client = JailerClient.create(target)) {
      assertEquals(2, client.list().size());
    }
  }

  @Test
  void start_localhostNameWithFlag_countsAsLoopback() throws Exception {
    JailerServer server = start("--listen", "localhost:0", "--insecure-loopback-tcp");

    try (JailerClient client = JailerClient.create(server.targets().get(0))) {
      assertEquals(2, client.list().size());
    }
  }

  @Test
  void start_wildcardWithoutMutualTls_refusedEvenWithInsecureFlag() {
    ServerStartException e =
        assertThrows(
            ServerStartException.class,
            () -> start("--listen", "0.0.0.0:7000", "--insecure-loopback-tcp"));

    assertEquals(
        "refusing to listen on 0.0.0.0:7000 without mutual TLS: every host that can reach it"
            + " could spawn processes; pass --tls-cert, --tls-key and --tls-client-ca",
        e.getMessage());
  }

  @Test
  void start_unreadableTlsFiles_refusedNamingTheFlags() {
    ServerStartException e =
        assertThrows(
            ServerStartException.class,
            () ->
                start(
                    "--listen", "0.0.0.0:0",
                    "--tls-cert", tmp.resolve("missing.pem").toString(),
                    "--tls-key", tmp.resolve("missing.key").toString(),
                    "--tls-client-ca", tmp.resolve("ca.pem").toString()));

    assertTrue(e.getMessage().startsWith("cannot load the TLS files (--tls-cert "), e.getMessage());
  }

  @Test
  void mutualTls_clientWithCertificate_succeedsAndWithoutOne_fails() throws Exception {
    Pki pki = Pki.create(tmp);
    JailerServer server =
        start(
            "--listen", "0.0.0.0:0",
            "--tls-cert", pki.serverCert.toString(),
            "--tls-key", pki.serverKey.toString(),
            "--tls-client-ca", pki.ca.toString());
    String target = "127.0.0.1:" + port(server);

    try (JailerClient withCert =
            JailerClient.builder(target).tls(pki.ca, pki.clientCert, pki.clientKey).build();
        JailerClient withoutCert =
            JailerClient.builder(target)
                .tls(pki.ca)
                .defaultDeadline(Duration.ofSeconds(5))
                .build();
        JailerClient plaintext =
            JailerClient.builder(target).defaultDeadline(Duration.ofSeconds(5)).build()) {
      assertEquals(2, withCert.list().size());
      JailerClientException noCert =
          assertThrows(JailerClientException.class, withoutCert::list);
      assertEquals(ErrorCode.UNAVAILABLE, noCert.code());
      JailerClientException noTls = assertThrows(JailerClientException.class, plaintext::list);
      assertEquals(ErrorCode.UNAVAILABLE, noTls.code());
    }
  }

  @Test
  void mutualTls_clientCertificateFromOtherCa_fails() throws Exception {
    Pki pki = Pki.create(tmp.resolve("one"));
    Pki other = Pki.create(tmp.resolve("two"));
    JailerServer server =
        start(
            "--listen", "127.0.0.1:0",
            "--tls-cert", pki.serverCert.toString(),
            "--tls-key", pki.serverKey.toString(),
            "--tls-client-ca", pki.ca.toString());

    try (JailerClient stranger =
        JailerClient.builder("127.0.0.1:" + port(server))
            .tls(pki.ca, other.clientCert, other.clientKey)
            .defaultDeadline(Duration.ofSeconds(5))
            .build()) {
      assertEquals(
          ErrorCode.UNAVAILABLE,
          assertThrows(JailerClientException.class, stranger::list).code());
    }
  }

  /** A CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
  static final class Pki {
    Path ca;
    Path serverCert;
    Path serverKey;
    Path clientCert;
    Path clientKey;

    static Pki create(Path dir) throws Exception {
      Prerequisites.require(new File("/usr/bin/openssl").canExecute(), "openssl CLI");
      Files.createDirectories(dir);
      Pki pki = new Pki();
      pki.ca = dir.resolve("ca.pem");
      Path caKey = dir.resolve("ca.key");
      openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
          "-subj", "/CN=jailer test CA", "-keyout", caKey.toString(), "-out", pki.ca.toString());
      Path serverExt = dir.resolve("server.ext");
      Files.writeString(
          serverExt,
          "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
      Path clientExt = dir.resolve("client.ext");
      Files.writeString(clientExt, "extendedKeyUsage=clientAuth\n");
      pki.serverCert = dir.resolve("server.pem");
      pki.serverKey = dir.resolve("server.key");
      issue(dir, pki, "localhost", pki.serverKey, pki.serverCert, serverExt, caKey);
      pki.clientCert = dir.resolve("client.pem");
      pki.clientKey = dir.resolve("client.key");
      issue(dir, pki, "jailer-client", pki.clientKey, pki.clientCert, clientExt, caKey);
      return pki;
    }

    private static void issue(
        Path dir, Pki pki, String cn, Path key, Path cert, Path ext, Path caKey)
        throws Exception {
      Path csr = dir.resolve(cn + ".csr");
      openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
          "-keyout", key.toString(), "-out", csr.toString());
      openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", pki.ca.toString(),
          "-CAkey", caKey.toString(), "-CAcreateserial", "-days", "1",
          "-extfile", ext.toString(), "-out", cert.toString());
    }

    private static void openssl(Path dir, String... args) throws Exception {
      List<String> command = new ArrayList<>();
      command.add("/usr/bin/openssl");
      command.addAll(List.of(args));
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("openssl.log").toFile())
              .start();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl timed out");
      assertEquals(
          0, p.exitValue(), () -> "openssl failed: " + readQuietly(dir.resolve("openssl.log")));
    }

    private static String readQuietly(Path log) {
      try {
        return Files.readString(log);
      } catch (Exception e) {
        return e.toString();
      }
    }
  }
}
