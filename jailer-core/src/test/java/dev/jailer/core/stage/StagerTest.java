package dev.jailer.core.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jailer.core.JailerException;
import dev.jailer.core.Platform;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.testing.ShimDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StagerTest {
  @TempDir Path tmp;
  private ShimDirectory shim;
  private Path stateDir;
  private Path volumeRoot;
  private Stager stager;
  private BoxLayout layout;

  @BeforeEach
  void setUp() throws IOException {
    shim = ShimDirectory.create(tmp.resolve("opt/shim"));
    stateDir = tmp.resolve("state");
    volumeRoot = Files.createDirectories(tmp.resolve("volumes"));
    stager = new Stager(Platform.LINUX, stateDir, List.of(shim.dir()), List.of(volumeRoot));
    layout = BoxLayout.of(stateDir, "box-1");
  }

  private StageRecord stage(Optional<StageRecord> previous) {
    return stager.stage(layout, shim.shim().toString(), List.of(), previous);
  }

  private static Map<String, StagedEntry> byName(StageRecord record) {
    return record.files().stream()
        .collect(Collectors.toMap(StagedEntry::name, Function.identity()));
  }

  private Set<String> binNames() throws IOException {
    try (Stream<Path> entries = Files.list(layout.bin())) {
      return entries.map(p -> p.getFileName().toString())
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private static Object inode(Path path) throws IOException {
    return Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS);
  }

  @Test
  void stage_freshBox_copiesOnlyShimAndKrunfw() throws IOException {
    StageRecord record = stage(Optional.empty());

    assertEquals(
        Set.of("box-shim", "libkrunfw.so", "libkrunfw.so.5", "libkrunfw.so.5.2.1"), binNames());
    assertTrue(record.files().stream().allMatch(StagedEntry::copied));
    assertEquals(shim.dir().toRealPath().toString(), record.shimDir());
    for (String dir : List.of("bin", "shared", "sockets", "tmp", "logs", "mounts", "jailer")) {
      assertTrue(Files.isDirectory(layout.dir().resolve(dir)), dir);
    }
    assertTrue(Files.exists(layout.stageRecord()));
  }

  @Test
  void stage_copies_areNewInodesWithSameContentAndHash() throws Exception {
    StageRecord record = stage(Optional.empty());

    Path copy = layout.bin().resolve(ShimDirectory.KRUNFW_REAL);
    Path source = shim.dir().resolve(ShimDirectory.KRUNFW_REAL);
    assertNotEquals(inode(source), inode(copy));
    assertEquals(Files.readString(source), Files.readString(copy));
    String expected =
        HexFormat.of().formatHex(
            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(source)));
    assertEquals(expected, byName(record).get(ShimDirectory.KRUNFW_REAL).sha256());
    assertEquals(Files.size(source), byName(record).get(ShimDirectory.KRUNFW_REAL).sizeBytes());
  }

  @Test
  void stage_versionSymlinks_recreatedAsSymlinksWithTheirTargets() throws IOException {
    StageRecord record = stage(Optional.empty());

    assertTrue(Files.isSymbolicLink(layout.bin().resolve("libkrunfw.so.5")));
    assertEquals(Path.of("libkrunfw.so.5.2.1"),
        Files.readSymbolicLink(layout.bin().resolve("libkrunfw.so.5")));
    assertEquals(Path.of("libkrunfw.so.5"),
        Files.readSymbolicLink(layout.bin().resolve("libkrunfw.so")));
    StagedEntry link = byName(record).get("libkrunfw.so");
    assertEquals("libkrunfw.so.5", link.linkTarget());
    assertEquals(byName(record).get("libkrunfw.so.5.2.1").sha256(), link.sha256());
  }

  @Test
  void stage_unchangedSources_copiesNothing() throws IOException {
    StageRecord first = stage(Optional.empty());
    Object shimInode = inode(layout.bin().resolve("box-shim"));

    StageRecord second = stage(Optional.of(first));

    assertTrue(second.files().stream().noneMatch(StagedEntry::copied), second.files().toString());
    assertEquals(shimInode, inode(layout.bin().resolve("box-shim")));
  }

  @Test
  void stage_unchangedSources_leavesTheRecordFileAlone() throws IOException {
    StageRecord first = stage(Optional.empty());
    Object recordInode = inode(layout.stageRecord());

    StageRecord second = stage(Optional.of(first));

    assertEquals(recordInode, inode(layout.stageRecord()));
    assertEquals(first.stagedAtMillis(), second.stagedAtMillis());
  }

  @Test
  void stage_unchangedSourcesButLostDirectory_recreatesItAndRewritesTheRecord()
      throws IOException {
    StageRecord first = stage(Optional.empty());
    Object recordInode = inode(layout.stageRecord());
    Files.delete(layout.logs());

    stage(Optional.of(first));

    assertTrue(Files.isDirectory(layout.logs()));
    assertFalse(recordInode.equals(inode(layout.stageRecord())));
  }

  @Test
  void stage_changedShim_copiesOnlyTheShim() throws IOException {
    StageRecord first = stage(Optional.empty());
    shim.write("box-shim", "#!/bin/sh\necho new shim\n", "rwxr-xr-x");

    StageRecord second = stage(Optional.of(first));

    assertTrue(byName(second).get("box-shim").copied());
    assertFalse(byName(second).get(ShimDirectory.KRUNFW_REAL).copied());
    assertEquals("#!/bin/sh\necho new shim\n", Files.readString(layout.bin().resolve("box-shim")));
  }

  @Test
  void stage_setuidSource_copyKeepsPermissionBitsWithoutSetuid() throws IOException {
    Files.setAttribute(shim.shim(), "unix:mode", 04755);

    stage(Optional.empty());

    int mode = (Integer) Files.getAttribute(layout.bin().resolve("box-shim"), "unix:mode");
    assertEquals(0755, mode & 07777);
  }

  @Test
  void stage_symlinkPlantedAtDestination_isReplacedNotFollowed() throws IOException {
    StageRecord first = stage(Optional.empty());
    Path victim = Files.writeString(tmp.resolve("victim"), "precious");
    Path dest = layout.bin().resolve("box-shim");
    Files.delete(dest);
    Files.createSymbolicLink(dest, victim);

    StageRecord second = stage(Optional.of(first));

    assertEquals("precious", Files.readString(victim));
    assertFalse(Files.isSymbolicLink(dest));
    assertTrue(byName(second).get("box-shim").copied());
  }

  @Test
  void stage_hardLinkPlantedAtDestination_isReplacedNotWrittenThrough() throws IOException {
    StageRecord first = stage(Optional.empty());
    Path victim = Files.writeString(tmp.resolve("victim"), "precious");
    Path dest = layout.bin().resolve(ShimDirectory.KRUNFW_REAL);
    Files.delete(dest);
    Files.createLink(dest, victim);

    stage(Optional.of(first));

    assertEquals("precious", Files.readString(victim));
    assertNotEquals(inode(victim), inode(dest));
    assertEquals("libkrunfw 5.2.1 contents", Files.readString(dest));
  }

  @Test
  void stage_olderKrunfwNoLongerInstalled_isRemovedFromBin() throws IOException {
    StageRecord first = stage(Optional.empty());
    Files.delete(shim.dir().resolve("libkrunfw.so.5"));
    Files.delete(shim.dir().resolve(ShimDirectory.KRUNFW_REAL));
    shim.write("libkrunfw.so.5.3.0", "libkrunfw 5.3.0", "rwxr-xr-x");
    Files.createSymbolicLink(shim.dir().resolve("libkrunfw.so.5"), Path.of("libkrunfw.so.5.3.0"));

    stage(Optional.of(first));

    assertEquals(
        Set.of("box-shim", "libkrunfw.so", "libkrunfw.so.5", "libkrunfw.so.5.3.0"), binNames());
  }

  @Test
  void stage_recordsFingerprintOfLibrariesLeftBehind() {
    StageRecord record = stage(Optional.empty());

    assertEquals(Set.of("libkrun.so.1", "libgvproxy.so"), record.libraryFingerprint().keySet());
  }

  @Test
  void changedLibraries_rewrittenLibrary_isNamed() throws IOException {
    StageRecord record = stage(Optional.empty());
    shim.write("libkrun.so.1", "libkrun, upgraded", "rwxr-xr-x");

    List<String> changed =
        Stager.changedLibraries(
            record.libraryFingerprint(), stager.fingerprintLibraries(shim.dir().toRealPath()));

    assertEquals(List.of("libkrun.so.1"), changed);
  }

  @Test
  void stage_shimOutsideAllowedDirectory_permissionDeniedAndNothingWritten() throws IOException {
    Path other = Files.createDirectories(tmp.resolve("elsewhere"));
    Path rogue = Files.writeString(other.resolve("rogue"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(rogue, PosixFilePermissions.fromString("rwxr-xr-x"));

    JailerException e =
        assertThrows(JailerException.class,
            () -> stager.stage(layout, rogue.toString(), List.of(), Optional.empty()));

    assertEquals(JailerException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("shim_path", e.violations().get(0).field());
    assertFalse(Files.exists(stateDir));
  }

  @Test
  void stage_dotDotEscapingAllowedDirectory_permissionDenied() throws IOException {
    Path outside = Files.writeString(tmp.resolve("opt/escape"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("rwxr-xr-x"));

    JailerException e =
        assertThrows(JailerException.class,
            () -> stager.stage(layout, shim.dir() + "/../escape", List.of(), Optional.empty()));

    assertEquals(JailerException.Kind.PERMISSION_DENIED, e.kind());
  }

  @Test
  void stage_symlinkInAllowedDirectoryPointingOutside_permissionDenied() throws IOException {
    Path outside = Files.writeString(tmp.resolve("outside-shim"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path link = Files.createSymbolicLink(shim.dir().resolve("sneaky"), outside);

    JailerException e =
        assertThrows(JailerException.class,
            () -> stager.stage(layout, link.toString(), List.of(), Optional.empty()));

    assertEquals(JailerException.Kind.PERMISSION_DENIED, e.kind());
    assertTrue(e.getMessage().contains("resolves to " + outside.toRealPath()), e.getMessage());
  }

  @Test
  void stage_krunfwSymlinkPointingOutside_permissionDeniedAndNothingWritten() throws IOException {
    Path secret = Files.writeString(tmp.resolve("secret"), "secret");
    Files.delete(shim.dir().resolve("libkrunfw.so"));
    Files.createSymbolicLink(shim.dir().resolve("libkrunfw.so"), secret);

    JailerException e = assertThrows(JailerException.class, () -> stage(Optional.empty()));

    assertEquals(JailerException.Kind.PERMISSION_DENIED, e.kind());
    assertFalse(Files.exists(layout.dir()));
  }

  @Test
  void stage_relativeOrMissingOrNonExecutableShim_invalidArgument() throws IOException {
    JailerException relative =
        assertThrows(JailerException.class,
            () -> stager.stage(layout, "opt/shim/box-shim", List.of(), Optional.empty()));
    JailerException missing =
        assertThrows(JailerException.class,
            () -> stager.stage(layout, shim.dir() + "/nope", List.of(), Optional.empty()));
    shim.write("plain", "data", "rw-r--r--");
    JailerException plain =
        assertThrows(JailerException.class,
            () -> stager.stage(layout, shim.dir() + "/plain", List.of(), Optional.empty()));

    for (JailerException e : List.of(relative, missing, plain)) {
      assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind(), e.getMessage());
      assertEquals("shim_path", e.violations().get(0).field());
    }
    assertTrue(plain.getMessage().contains("chmod +x"), plain.getMessage());
    assertFalse(Files.exists(stateDir));
  }

  @Test
  void stage_volumes_validatedAndResolved() throws IOException {
    Path data = Files.createDirectories(volumeRoot.resolve("data"));

    StageRecord record =
        stager.stage(layout, shim.shim().toString(),
            List.of(new VolumeSpec(data.toString(), "/mnt/data/", true)), Optional.empty());

    assertEquals(List.of(new VolumeSpec(data.toRealPath().toString(), "/mnt/data", true)),
        record.volumes());
  }

  @Test
  void stage_badVolumes_refusedWithFieldNames() throws IOException {
    Path data = Files.createDirectories(volumeRoot.resolve("data"));
    Path outside = Files.createDirectories(tmp.resolve("outside"));

    JailerException duplicate = assertThrows(JailerException.class, () -> stager.stage(layout,
        shim.shim().toString(), List.of(new VolumeSpec(data.toString(), "/a", true),
            new VolumeSpec(data.toString(), "/a/", false)), Optional.empty()));
    JailerException relativeGuest = assertThrows(JailerException.class, () -> stager.stage(layout,
        shim.shim().toString(), List.of(new VolumeSpec(data.toString(), "a", true)),
        Optional.empty()));
    JailerException notAllowed = assertThrows(JailerException.class, () -> stager.stage(layout,
        shim.shim().toString(), List.of(new VolumeSpec(outside.toString(), "/a", true)),
        Optional.empty()));
    JailerException missing = assertThrows(JailerException.class, () -> stager.stage(layout,
        shim.shim().toString(), List.of(new VolumeSpec(data + "/nope", "/a", true)),
        Optional.empty()));

    assertEquals(JailerException.Kind.INVALID_ARGUMENT, duplicate.kind());
    assertEquals("volumes[1].guest_path", duplicate.violations().get(0).field());
    assertEquals("volumes[0].guest_path", relativeGuest.violations().get(0).field());
    assertEquals(JailerException.Kind.PERMISSION_DENIED, notAllowed.kind());
    assertEquals("volumes[0].host_path", notAllowed.violations().get(0).field());
    assertEquals(JailerException.Kind.INVALID_ARGUMENT, missing.kind());
    assertFalse(Files.exists(stateDir));
  }

  @Test
  void stage_volumeOverlappingStateDirectory_permissionDenied() throws IOException {
    Stager wide = new Stager(Platform.LINUX, stateDir, List.of(shim.dir()), List.of(tmp));
    Files.createDirectories(stateDir);

    JailerException e = assertThrows(JailerException.class, () -> wide.stage(layout,
        shim.shim().toString(), List.of(new VolumeSpec(tmp.toString(), "/all", true)),
        Optional.empty()));

    assertEquals(JailerException.Kind.PERMISSION_DENIED, e.kind());
    assertTrue(e.getMessage().contains("state directory"), e.getMessage());
  }

  @Test
  void stage_socketPathOverPlatformLimit_refusedWithLengthAndLimit() throws IOException {
    Path deep = tmp.resolve("x".repeat(60));
    BoxLayout longLayout = BoxLayout.of(deep, "b".repeat(64));

    JailerException e = assertThrows(JailerException.class,
        () -> stager.stage(longLayout, shim.shim().toString(), List.of(), Optional.empty()));

    assertEquals(JailerException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains(longLayout.longestSocketPathBytes() + " bytes"),
        e.getMessage());
    assertTrue(e.getMessage().contains("limit of 107 bytes"), e.getMessage());
  }

  @Test
  void shimLibraries_macos_copiesOnlyDylibsOfKrunfw() {
    ShimLibraries mac = new ShimLibraries(Platform.MACOS);

    assertTrue(mac.isKrunfw("libkrunfw.5.dylib"));
    assertTrue(mac.isKrunfw("libkrunfw.dylib"));
    assertTrue(mac.isKrunfw("libkrunfw.5.2.1.dylib"));
    assertFalse(mac.isKrunfw("libkrunfw.so.5"));
    assertFalse(mac.isKrunfw("libkrun.1.dylib"));
    assertTrue(mac.isLibraryLeftBehind("libkrun.1.dylib"));
    assertFalse(mac.isLibraryLeftBehind("libkrunfw.5.dylib"));
  }

  @Test
  void permissionsWithoutSetId_keepsRwxBits() {
    Set<PosixFilePermission> permissions = Stager.permissionsWithoutSetId(06750);

    assertEquals(PosixFilePermissions.fromString("rwxr-x---"), permissions);
  }
}
