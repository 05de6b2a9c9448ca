package dev.jailer.core.seccomp;

import static dev.jailer.core.seccomp.SeccompArgCondition.eq;
import static dev.jailer.core.seccomp.SeccompArgCondition.maskedEq;

import com.google.common.collect.ImmutableList;

/**
 * Jailer's built-in allowlist for a VMM shim (libkrun, QEMU and Firecracker have the same needs),
 * for {@code /bin/sh} and coreutils (so a shim may be a shell script), and for bwrap's own last
 * steps: bwrap loads the filter before it {@code execve}s the shim, and its pid-1 reaper runs
 * under the filter too.
 *
 * <p>Everything not listed kills the whole process. Deliberately absent, so killed: mount,
 * umount2, pivot_root, chroot (the sandbox's view of the file system is final); ptrace,
 * process_vm_readv/writev, pidfd_getfd, kcmp (reading or steering another process); setns,
 * unshare and clone with namespace flags (a new user namespace hands out capabilities inside it,
 * the usual first step of kernel exploits); kexec_load, kexec_file_load, init_module,
 * finit_module, delete_module, reboot, swapon, swapoff, acct, quotactl, syslog,
 * settimeofday, clock_settime, clock_adjtime, adjtimex, iopl, ioperm (host administration);
 * bpf, perf_event_open, keyctl, add_key, request_key, lookup_dcookie, io_uring_* (large kernel
 * surfaces with a long record of exploitable bugs that no VMM here needs; io_uring_setup fails
 * with ENOSYS instead of killing, because QEMU probes it and falls back to poll);
 * open_by_handle_at, name_to_handle_at (open files by handle, bypassing the mount view: the
 * "shocker" escape); setuid and friends (the shim never changes identity).
 *
 * <p>{@code userfaultfd} is absent too: libkrun and QEMU without post-copy migration do not use
 * it, Firecracker needs it only to restore snapshots from a page-fault handler process (which
 * Jailer does not offer), and it is the standard tool for widening kernel race windows in
 * exploits.
 */
final class DefaultProfile {
  // Namespace flags of clone(2), from linux/sched.h: CLONE_NEWNS 0x00020000,
  // CLONE_NEWCGROUP 0x02000000, CLONE_NEWUTS 0x04000000, CLONE_NEWIPC 0x08000000,
  // CLONE_NEWUSER 0x10000000, CLONE_NEWPID 0x20000000, CLONE_NEWNET 0x40000000.
  private static final long CLONE_NAMESPACE_FLAGS = 0x7E020000L;

  // ENOSYS from asm-generic/errno.h.
  private static final int ENOSYS = 38;

  // Address families from linux/socket.h.
  private static final long AF_UNIX = 1;
  private static final long AF_INET = 2;
  private static final long AF_INET6 = 10;
  private static final long AF_NETLINK = 16;

  // personality(2) values from linux/personality.h: PER_LINUX, and 0xffffffff which only
  // queries the current persona.
  private static final long PER_LINUX = 0x0;
  private static final long PERSONALITY_QUERY = 0xffffffffL;

  private DefaultProfile() {}

  static SeccompProfile create() {
    ImmutableList.Builder<SeccompRule> rules = ImmutableList.builder();

    // The dynamic loader and process start-up: execve/execveat because bwrap loads the filter
    // before exec'ing the shim (and a shell script shim execs its tools); brk, arch_prctl (TLS
    // on x86_64), set_tid_address, set_robust_list and rseq are what glibc does before main.
    allow(rules, "process start-up and exec",
        "execve", "execveat", "brk", "arch_prctl", "set_tid_address", "set_robust_list",
        "get_robust_list", "rseq", "exit", "exit_group", "restart_syscall");

    // Memory: guest RAM is a large anonymous or memfd mapping that the VMM maps, protects,
    // resizes and advises (balloon, free page reporting); mlock bounded by RLIMIT_MEMLOCK.
    allow(rules, "memory management",
        "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "msync", "mlock",
        "mlock2", "munlock", "mlockall", "munlockall", "memfd_create", "membarrier");

    // NUMA policy of the process's own memory. QEMU links libnuma, whose constructor reads the
    // policy (get_mempolicy) and probes MPOL_PREFERRED_MANY by setting and resetting it
    // (set_mempolicy) before main: measured, QEMU 7.2 is killed there without them. QEMU's
    // memory backends call mbind when told to place guest RAM on host nodes (policy=bind).
    // All three act on the caller's own pages, within the nodes its cpuset allows;
    // migrate_pages and move_pages, which act on another process by pid, stay out.
    allow(rules, "NUMA placement of own memory", "get_mempolicy", "set_mempolicy", "mbind");

    // Threads: one thread per vCPU plus device worker threads, synchronised with futexes.
    // clone is allowed only without namespace flags. clone3 passes its flags in memory a filter
    // cannot read, so it fails with ENOSYS, on which glibc and Rust fall back to clone.
    // Limitation: the flags are taken to be clone's first argument, true on x86_64 and aarch64;
    // on s390x (flags second) every clone of a non-namespace shape would be killed.
    rules.add(new SeccompRule(ImmutableList.of("clone"), SeccompAction.allow(),
        ImmutableList.of(maskedEq(0, CLONE_NAMESPACE_FLAGS, 0)),
        "builtin:default threads (clone without namespace flags)"));
    rules.add(new SeccompRule(ImmutableList.of("clone3"), SeccompAction.errno(ENOSYS),
        ImmutableList.of(), "builtin:default threads (clone3 falls back to clone)"));
    allow(rules, "threads and scheduling",
        "fork", "vfork", "futex", "futex_waitv", "gettid", "sched_yield", "sched_getaffinity",
        "sched_setaffinity", "sched_getparam", "sched_getscheduler", "sched_getattr",
        "sched_get_priority_max", "sched_get_priority_min", "getpriority", "setpriority",
        "getcpu");

    // Processes: helpers and shell pipelines are waited for; signals reach only processes in
    // the box's own pid namespace.
    allow(rules, "process control",
        "wait4", "waitid", "kill", "tgkill", "tkill", "pidfd_open", "pidfd_send_signal",
        "getpid", "getppid", "getpgrp", "getpgid", "setpgid", "getsid", "setsid", "getuid",
        "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "capget",
        "prlimit64", "getrlimit", "setrlimit", "getrusage", "times", "umask", "uname",
        "sysinfo");

    // prctl: thread names, PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP (Firecracker
    // filters its own threads further). Options that could loosen the sandbox (PR_SET_MM,
    // PR_CAP_AMBIENT_RAISE, ...) need capabilities the shim does not hold.
    allow(rules, "prctl and self-restriction",
        "prctl", "seccomp", "landlock_create_ruleset", "landlock_add_rule",
        "landlock_restrict_self");

    // personality: only PER_LINUX and the query. Other personas disable ASLR for exec'd
    // programs (ADDR_NO_RANDOMIZE) or make readable memory executable (READ_IMPLIES_EXEC).
    rules.add(new SeccompRule(ImmutableList.of("personality"), SeccompAction.allow(),
        ImmutableList.of(eq(0, PER_LINUX), eq(0, PERSONALITY_QUERY)),
        "builtin:default personality (query and PER_LINUX only)"));

    // Signals: the VMM kicks vCPU threads out of KVM_RUN with signals, and uses signalfd.
    allow(rules, "signals",
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
        "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "pause",
        "alarm");

    // Time: timers drive device emulation and the guest clock.
    allow(rules, "time and timers",
        "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
        "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
        "timer_getoverrun", "timer_delete");

    // File I/O: disk images, the shared directory (virtio-fs serves it with *at calls and
    // xattr reads), logs, and /bin/sh and coreutils.
    allow(rules, "file I/O",
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
        "preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
        "lseek", "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
        "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents",
        "getdents64", "dup", "dup2", "dup3", "fcntl", "flock", "fsync", "fdatasync", "sync",
        "syncfs", "sync_file_range", "ftruncate", "truncate", "fallocate", "fadvise64",
        "readahead", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir",
        "mkdirat", "rmdir", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
        "fchmodat", "chown", "fchown", "fchownat", "lchown", "utime", "utimes", "utimensat",
        "futimesat", "getcwd", "chdir", "fchdir", "pipe", "pipe2", "sendfile", "splice", "tee",
        "copy_file_range", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
        "flistxattr", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch");

    // Linux native AIO: QEMU's aio=native block backend.
    allow(rules, "asynchronous I/O",
        "io_setup", "io_destroy", "io_submit", "io_getevents", "io_pgetevents", "io_cancel");

    // io_uring stays out (see above), but QEMU's event loop tries io_uring_setup first and
    // falls back to ppoll/epoll when it fails: ENOSYS ("no io_uring in this kernel") gives
    // that fallback, where a kill would end every QEMU at start-up. Without a ring from
    // io_uring_setup, io_uring_enter and io_uring_register have nothing to act on and stay
    // killed.
    rules.add(new SeccompRule(ImmutableList.of("io_uring_setup"), SeccompAction.errno(ENOSYS),
        ImmutableList.of(), "builtin:default io_uring refused (callers fall back to poll)"));

    // ioctl is not filtered by request: KVM is driven entirely through ioctls on /dev/kvm and
    // its VM and vCPU fds, along with TUN/TAP and terminal requests. Which devices exist is
    // decided by the sandbox's /dev, not here.
    allow(rules, "ioctl (KVM, TUN/TAP, terminals)", "ioctl");

    // Event loops: device emulation waits on eventfds (ioeventfd/irqfd), timerfds and sockets.
    allow(rules, "event loops",
        "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
        "timerfd_settime", "timerfd_gettime", "signalfd", "signalfd4");

    // Sockets: unix sockets to the runtime (console, vsock bridge, gvproxy), TCP/UDP when the
    // box has networking, netlink for glibc's interface and address queries. Other families
    // (AF_PACKET, AF_ALG, AF_VSOCK, ...) are not needed and each is kernel surface.
    rules.add(new SeccompRule(ImmutableList.of("socket"), SeccompAction.allow(),
        ImmutableList.of(eq(0, AF_UNIX), eq(0, AF_INET), eq(0, AF_INET6), eq(0, AF_NETLINK)),
        "builtin:default sockets (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK only)"));
    rules.add(new SeccompRule(ImmutableList.of("socketpair"), SeccompAction.allow(),
        ImmutableList.of(eq(0, AF_UNIX)), "builtin:default sockets (socketpair AF_UNIX only)"));
    allow(rules, "socket operations",
        "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
        "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
        "recvmmsg", "shutdown");

    // Randomness for the loader's stack protector, hash seeds and the guest's entropy device.
    allow(rules, "randomness", "getrandom");

    return new SeccompProfile(
        "builtin:default", SeccompAction.killProcess(), ImmutableList.of(), rules.build());
  }

  private static void allow(
      ImmutableList.Builder<SeccompRule> rules, String why, String... names) {
    rules.add(new SeccompRule(
        ImmutableList.copyOf(names), SeccompAction.allow(), ImmutableList.of(),
        "builtin:default " + why));
  }
}
