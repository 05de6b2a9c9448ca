package dev.jailer.core.sandbox.macos;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SeatbeltProfileTest {
  private static final String BOX = "/Users/op/jailer/boxes/b1";
  private static final Path SHIM = Path.of(BOX + "/bin/boxlite-shim");
  private static final String ORIGINAL = "/opt/boxlite/libexec";

  /** The grants a staged box gets (DESIGN §3) plus one RO directory and one RW file volume. */
  private static List<PathGrant> typicalGrants() {
    return List.of(
        grant(BOX + "/bin", Access.READ_ONLY, true),
        grant(ORIGINAL, Access.READ_ONLY, true),
        grant(BOX + "/shared", Access.READ_WRITE, true),
        grant(BOX + "/sockets", Access.READ_WRITE, true),
        grant(BOX + "/tmp", Access.READ_WRITE, true),
        grant(BOX + "/logs", Access.READ_WRITE, true),
        grant("/Volumes/data/models", Access.READ_ONLY, true),
        grant("/Users/op/notes.txt", Access.READ_WRITE, false));
  }

  private static ImmutableMap<String, String> typicalParameters() {
    return ImmutableMap.<String, String>builder()
        .put("GRANT_0", BOX + "/bin")
        .put("GRANT_1", ORIGINAL)
        .put("GRANT_2", BOX + "/shared")
        .put("GRANT_3", BOX + "/sockets")
        .put("GRANT_4", BOX + "/tmp")
        .put("GRANT_5", BOX + "/logs")
        .put("GRANT_6", "/Volumes/data/models")
        .put("GRANT_7", "/Users/op/notes.txt")
        .put("MASK_0", ORIGINAL + "/libkrunfw.5.dylib")
        .put("MASK_1", ORIGINAL + "/libkrunfw.dylib")
        .put("SHIM", SHIM.toString())
        .buildOrThrow();
  }

  private static List<Path> typicalMasks() {
    return List.of(Path.of(ORIGINAL, "libkrunfw.5.dylib"), Path.of(ORIGINAL, "libkrunfw.dylib"));
  }

  private static PathGrant grant(String path, Access access, boolean directory) {
    return new PathGrant(Path.of(path), access, directory, "test");
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = SeatbeltProfileTest.class.getResourceAsStream(name)) {
      assertNotNull(in, "missing test resource " + name);
      return new String(in.readAllBytes(), UTF_8);
    }
  }

  private static void assertProfileMatches(String resourceName, SeatbeltProfile profile)
      throws IOException {
    String expected = resource(resourceName);
    assertEquals(expected, profile.text());
    assertArrayEquals(expected.getBytes(UTF_8), profile.text().getBytes(UTF_8));
  }

  @Test
  void generate_typicalBoxNetworkOff_matchesExpectedProfileAndParameters() throws IOException {
    SeatbeltProfile profile =
        SeatbeltProfile.generate(typicalGrants(), typicalMasks(), false, SHIM);

    assertProfileMatches("typical-box-network-off.sb", profile);
    assertEquals(typicalParameters(), profile.parameters());
    assertEquals(
        List.copyOf(typicalParameters().keySet()), List.copyOf(profile.parameters().keySet()));
    assertEquals(SHIM.toString(), profile.shimPath());
  }

  @Test
  void generate_typicalBoxNetworkOn_matchesExpectedProfileAndParameters() throws IOException {
    SeatbeltProfile profile = SeatbeltProfile.generate(typicalGrants(), typicalMasks(), true, SHIM);

    assertProfileMatches("typical-box-network-on.sb", profile);
    assertEquals(typicalParameters(), profile.parameters());
  }

  @Test
  void generate_networkOnAndOff_differOnlyByTheNetworkBlock() {
    String off = SeatbeltProfile.generate(typicalGrants(), typicalMasks(), false, SHIM).text();
    String on = SeatbeltProfile.generate(typicalGrants(), typicalMasks(), true, SHIM).text();

    assertTrue(on.startsWith(off), "the network block is appended to the same profile");
    String block = on.substring(off.length());
    assertTrue(block.contains("(allow network-outbound)"));
    assertFalse(off.contains("(allow network-outbound)"));
    assertFalse(off.contains("(allow network-inbound)"));
    assertFalse(off.contains("(allow system-socket)"));
  }

  @Test
  void generate_fileGrantsOnly_matchesExpectedProfile() throws IOException {
    List<PathGrant> grants =
        List.of(
            grant("/Users/op/config.json", Access.READ_ONLY, false),
            grant("/Users/op/out.log", Access.READ_WRITE, false));

    SeatbeltProfile profile = SeatbeltProfile.generate(grants, false, SHIM);

    assertProfileMatches("file-grants.sb", profile);
    assertEquals(
        ImmutableMap.of(
            "GRANT_0", "/Users/op/config.json",
            "GRANT_1", "/Users/op/out.log",
            "SHIM", SHIM.toString()),
        profile.parameters());
  }

  @Test
  void generate_noGrants_matchesExpectedProfile() throws IOException {
    SeatbeltProfile profile = SeatbeltProfile.generate(List.of(), false, SHIM);

    assertProfileMatches("no-grants.sb", profile);
    assertEquals(ImmutableMap.of("SHIM", SHIM.toString()), profile.parameters());
  }

  @Test
  void generate_sameArguments_sameResult() {
    SeatbeltProfile first = SeatbeltProfile.generate(typicalGrants(), typicalMasks(), true, SHIM);
    SeatbeltProfile second = SeatbeltProfile.generate(typicalGrants(), typicalMasks(), true, SHIM);

    assertEquals(first.text(), second.text());
    assertEquals(first.parameters(), second.parameters());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/Users/op/a\"b",
        "/Users/op/a\\b",
        "/Users/op/a\nb",
        "/Users/op/a(b)c",
        "/Users/op/a;b",
        "/Users/op/\")(allow default)(",
        "/Users/op/x\"))\n(allow default)\n; \"",
        "/Users/op/#\"raw\"",
        "/Users/op/é ü 中",
      })
  void generate_hostilePath_textIdenticalToBenignAndValueOnlyInParameters(String hostile) {
    List<PathGrant> benign =
        List.of(
            grant("/Users/op/plain", Access.READ_WRITE, true),
            grant("/Users/op/file", Access.READ_ONLY, false));
    List<PathGrant> evil =
        List.of(
            grant(hostile, Access.READ_WRITE, true),
            grant(hostile + "-file", Access.READ_ONLY, false));
    Path evilShim = Path.of(hostile + "-shim");

    SeatbeltProfile good = SeatbeltProfile.generate(benign, List.of(), true, SHIM);
    SeatbeltProfile bad =
        SeatbeltProfile.generate(evil, List.of(Path.of(hostile + "-mask")), true, evilShim);
    SeatbeltProfile goodMasked =
        SeatbeltProfile.generate(benign, List.of(Path.of("/Users/op/m")), true, SHIM);

    assertEquals(goodMasked.text(), bad.text());
    assertNotEquals(good.text(), goodMasked.text(), "a mask adds a rule");
    assertFalse(bad.text().contains(hostile));
    assertEquals(hostile, bad.parameters().get("GRANT_0"));
    assertEquals(hostile + "-file", bad.parameters().get("GRANT_1"));
    assertEquals(hostile + "-mask", bad.parameters().get("MASK_0"));
    assertEquals(hostile + "-shim", bad.parameters().get("SHIM"));
  }

  @Test
  void generate_pathsUnderSystemLinks_parametersUsePrivateForm() {
    List<PathGrant> grants =
        List.of(
            grant("/var/folders/xy/T/box", Access.READ_WRITE, true),
            grant("/tmp", Access.READ_WRITE, true),
            grant("/etc/hosts", Access.READ_ONLY, false),
            grant("/private/var/db/x", Access.READ_ONLY, true),
            grant("/variable/x", Access.READ_ONLY, true));

    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            grants, List.of(Path.of("/etc/krun.dylib")), false, Path.of("/tmp/b/bin/shim"));

    assertEquals(
        ImmutableMap.<String, String>builder()
            .put("GRANT_0", "/private/var/folders/xy/T/box")
            .put("GRANT_1", "/private/tmp")
            .put("GRANT_2", "/private/etc/hosts")
            .put("GRANT_3", "/private/var/db/x")
            .put("GRANT_4", "/variable/x")
            .put("MASK_0", "/private/etc/krun.dylib")
            .put("SHIM", "/private/tmp/b/bin/shim")
            .buildOrThrow(),
        profile.parameters());
    assertEquals("/private/tmp/b/bin/shim", profile.shimPath());
  }

  @Test
  void generate_nonNormalisedGrant_refusedBeforeAnythingIsBuilt() {
    List<PathGrant> grants = List.of(grant("/Users/op/../root", Access.READ_ONLY, true));

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SeatbeltProfile.generate(grants, false, SHIM));
    assertTrue(e.getMessage().contains("normalised"), e.getMessage());
  }

  @Test
  void generate_relativeShim_refused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> SeatbeltProfile.generate(List.of(), false, Path.of("bin/shim")));
  }

  @Test
  void generate_nullGrant_refused() {
    List<PathGrant> grants = new ArrayList<>();
    grants.add(null);

    assertThrows(NullPointerException.class, () -> SeatbeltProfile.generate(grants, false, SHIM));
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void generate_everyReferencedParameter_isSuppliedAndNoOther(boolean network) {
    SeatbeltProfile profile =
        SeatbeltProfile.generate(typicalGrants(), typicalMasks(), network, SHIM);

    Set<String> referenced = new LinkedHashSet<>();
    Matcher m = Pattern.compile("\\(param \"([A-Z0-9_]+)\"\\)").matcher(profile.text());
    while (m.find()) {
      referenced.add(m.group(1));
    }
    assertEquals(profile.parameters().keySet(), referenced);
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void generate_anyBox_isBalancedSbplWithOnlyKnownForms(boolean network) {
    SeatbeltProfile profile =
        SeatbeltProfile.generate(typicalGrants(), typicalMasks(), network, SHIM);

    String code = stripCommentsAndStrings(profile.text());
    int depth = 0;
    for (char c : code.toCharArray()) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      assertTrue(depth >= 0, "closing parenthesis without an opening one");
    }
    assertEquals(0, depth, "unbalanced parentheses");
    // Every top-level form is one of the three the profile is made of.
    for (String form : topLevelForms(code)) {
      assertTrue(
          form.startsWith("(version ") || form.startsWith("(allow ") || form.startsWith("(deny "),
          "unexpected top-level form: " + form);
    }
    assertTrue(code.startsWith("(version 1)"));
    assertEquals(1, countOf(profile.text(), "(deny default)"));
  }

  @Test
  void generate_readWriteFileGrant_getsNoSocketRule() {
    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            List.of(grant("/Users/op/sock", Access.READ_WRITE, false)), false, SHIM);

    assertFalse(profile.text().contains("unix-socket (subpath"));
    assertTrue(
        profile.text().contains("(allow file-read* file-write* (literal (param \"GRANT_0\")))"));
  }

  @Test
  void generate_readOnlyGrant_neverWritable() {
    SeatbeltProfile profile =
        SeatbeltProfile.generate(
            List.of(grant("/Users/op/ro", Access.READ_ONLY, true)), true, SHIM);

    for (String line : profile.text().split("\n")) {
      if (line.contains("GRANT_0") && line.startsWith("(allow")) {
        assertFalse(line.contains("write"), line);
        assertFalse(line.contains("network"), line);
      }
    }
  }

  private static int countOf(String text, String needle) {
    int count = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      count++;
    }
    return count;
  }

  /** Removes SBPL comments (';' to end of line) and the contents of string literals. */
  private static String stripCommentsAndStrings(String text) {
    StringBuilder out = new StringBuilder();
    boolean inString = false;
    boolean inComment = false;
    for (char c : text.toCharArray()) {
      if (inComment) {
        if (c == '\n') {
          inComment = false;
          out.append(c);
        }
      } else if (inString) {
        assertNotEquals('\\', c, "the profile needs no escapes inside strings");
        if (c == '"') {
          inString = false;
          out.append(c);
        }
      } else if (c == ';') {
        inComment = true;
      } else {
        if (c == '"') {
          inString = true;
        }
        out.append(c);
      }
    }
    return out.toString();
  }

  private static ImmutableList<String> topLevelForms(String code) {
    ImmutableList.Builder<String> forms = ImmutableList.builder();
    int depth = 0;
    int start = -1;
    for (int i = 0; i < code.length(); i++) {
      char c = code.charAt(i);
      if (c == '(') {
        if (depth++ == 0) {
          start = i;
        }
      } else if (c == ')' && --depth == 0) {
        forms.add(code.substring(start, i + 1));
      } else if (depth == 0 && !Character.isWhitespace(c)) {
        throw new AssertionError("text outside any form: " + c);
      }
    }
    return forms.build();
  }
}
