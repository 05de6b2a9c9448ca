package dev.jailer.core.cgroup;

/** The cgroup controllers a box uses, in the order they are set up and reported. */
enum Controller {
  MEMORY("memory"),
  CPU("cpu"),
  /** CPU accounting; on v2 it is the core {@code cpu.stat} file, which needs no controller. */
  CPUACCT("cpuacct"),
  PIDS("pids");

  private final String kernelName;

  Controller(String kernelName) {
    this.kernelName = kernelName;
  }

  /** The name as the kernel spells it in mount options and {@code cgroup.controllers}. */
  String kernelName() {
    return kernelName;
  }
}
