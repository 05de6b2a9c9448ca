/**
 * The cgroups of boxes on Linux: where each controller lives on this host (v1, v2 or hybrid),
 * creating a box's cgroup with its memory, CPU and pids limits before the shim starts, reading
 * its counters, killing what runs in it and removing it when the box ends.
 *
 * <p>Cgroups are plain files, so this package needs no native code. {@link
 * dev.jailer.core.cgroup.CgroupHost} is the entry point; {@link
 * dev.jailer.core.cgroup.BoxCgroup} is one box's cgroup.
 */
package dev.jailer.core.cgroup;
