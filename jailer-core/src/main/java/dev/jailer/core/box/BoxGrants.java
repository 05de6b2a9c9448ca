package dev.jailer.core.box;

import com.google.common.collect.ImmutableList;
import dev.jailer.core.sandbox.Access;
import dev.jailer.core.sandbox.PathGrant;
import dev.jailer.core.stage.StageRecord;
import dev.jailer.core.stage.VolumeSpec;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The path grants a staged box needs (DESIGN.md section 3): each entry of the box directory on
 * its own with the least access it needs, the original shim directory read-only, and the
 * volumes. The box directory itself, {@code mounts/} and {@code jailer/} are never granted.
 */
public final class BoxGrants {
  private BoxGrants() {}

  /** The grants of a box staged with {@code stage}, in a stable order. */
  public static ImmutableList<PathGrant> of(BoxLayout layout, StageRecord stage) {
    ImmutableList.Builder<PathGrant> grants = ImmutableList.builder();
    grants.add(
        new PathGrant(
            layout.bin(), Access.READ_ONLY, true, "the box's own copy of the shim and libkrunfw"));
    grants.add(
        new PathGrant(
            Path.of(stage.shimDir()),
            Access.READ_ONLY,
            true,
            "the installed shim's directory: libraries that are not copied (libkrun, ...) are "
                + "loaded from here; its libkrunfw files are masked"));
    grants.add(
        new PathGrant(layout.shared(), Access.READ_WRITE, true, "share root seen by the guest"));
    grants.add(
        new PathGrant(layout.sockets(), Access.READ_WRITE, true, "Unix sockets of the VMM"));
    grants.add(new PathGrant(layout.tmp(), Access.READ_WRITE, true, "TMPDIR of the shim"));
    grants.add(new PathGrant(layout.logs(), Access.READ_WRITE, true, "the shim's own log files"));
    for (VolumeSpec volume : stage.volumes()) {
      Path host = Path.of(volume.hostPath());
      grants.add(
          new PathGrant(
              host,
              volume.readOnly() ? Access.READ_ONLY : Access.READ_WRITE,
              Files.isDirectory(host),
              "volume seen by the guest at " + volume.guestPath()));
    }
    return grants.build();
  }
}
