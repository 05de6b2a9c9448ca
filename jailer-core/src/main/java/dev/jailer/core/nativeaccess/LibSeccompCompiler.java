package dev.jailer.core.nativeaccess;

import static java.util.Objects.requireNonNull;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.jailer.core.JailerException;
import dev.jailer.core.seccomp.SeccompAction;
import dev.jailer.core.seccomp.SeccompArgCondition;
import dev.jailer.core.seccomp.SeccompCompiler;
import dev.jailer.core.seccomp.SeccompProfile;
import dev.jailer.core.seccomp.SeccompProfiles;
import dev.jailer.core.seccomp.SeccompRule;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/** {@link SeccompCompiler} over libseccomp through JNA; see {@link NativeAccess}. */
final class LibSeccompCompiler implements SeccompCompiler {
  private static final Logger logger = Logger.getLogger(LibSeccompCompiler.class.getName());

  // Largest classic BPF program the kernel loads: BPF_MAXINSNS (4096) in linux/bpf_common.h.
  private static final int MAX_PROGRAM_BYTES = 4096 * BPF_INSTRUCTION_BYTES;

  private final LibSeccomp seccomp;
  private final LibC libc;

  LibSeccompCompiler(LibSeccomp seccomp, LibC libc) {
    this.seccomp = requireNonNull(seccomp, "seccomp");
    this.libc = requireNonNull(libc, "libc");
  }

  @Override
  public byte[] compileBpf(SeccompProfile profile) {
    requireNonNull(profile, "profile");
    int defaultAction = actionValue(profile.defaultAction());
    Pointer ctx = seccomp.seccomp_init(defaultAction);
    if (ctx == null) {
      throw JailerException.internal("seccomp_init(" + profile.defaultAction() + ") failed for"
          + " seccomp profile " + profile.name(), null);
    }
    try {
      // A call through a foreign ABI (int 0x80 on x86_64, for example) uses different system
      // call numbers, so none of the rules below would mean what they say for it.
      check(seccomp.seccomp_attr_set(
              ctx, LibSeccomp.SCMP_FLTATR_ACT_BADARCH, LibSeccomp.SCMP_ACT_KILL_PROCESS),
          "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)");

      for (SeccompRule rule : profile.rules()) {
        addRule(ctx, profile, rule, defaultAction);
      }

      return export(ctx, profile);
    } finally {
      seccomp.seccomp_release(ctx);
    }
  }

  /** The native architecture's number for {@code name}, or a negative value if it has none. */
  int resolve(String name) {
    return seccomp.seccomp_syscall_resolve_name(name);
  }

  private void addRule(Pointer ctx, SeccompProfile profile, SeccompRule rule, int defaultAction) {
    int action = actionValue(rule.action());
    // libseccomp refuses a rule that repeats the default action (EACCES); runc skips it too,
    // and leaving it out changes nothing.
    if (action == defaultAction) {
      logger.log(Level.FINE, "{0}: {1} repeats the default action, left out",
          new Object[] {profile.name(), rule.origin()});
      return;
    }

    List<List<SeccompArgCondition>> alternatives = rule.hasAlternativeConditions()
        ? rule.conditions().stream().map(List::of).toList()
        : List.of(rule.conditions());

    for (String name : rule.names()) {
      int nr = seccomp.seccomp_syscall_resolve_name(name);
      if (nr < 0) {
        // Unknown to this libseccomp (a newer call) or absent on this architecture (socketcall
        // on x86_64, open on aarch64): nothing to filter, as runc does.
        logger.log(Level.FINE, "{0}: {1}: system call {2} is not known on this architecture,"
            + " left out", new Object[] {profile.name(), rule.origin(), name});
        continue;
      }
      for (List<SeccompArgCondition> conditions : alternatives) {
        int rc = addArray(ctx, action, nr, conditions);
        if (rc < 0) {
          String message = "seccomp profile " + profile.name() + ": " + rule.origin()
              + ": libseccomp refused the rule for " + name + " (" + errnoText(rc) + ");"
              + " check it does not conflict with another rule for the same system call";
          if (profile.name().startsWith("builtin:")) {
            throw JailerException.internal(message, null);
          }
          throw JailerException.invalidArgument(SeccompProfiles.FILE_FIELD, message);
        }
      }
    }
  }

  private int addArray(Pointer ctx, int action, int nr, List<SeccompArgCondition> conditions) {
    if (conditions.isEmpty()) {
      return seccomp.seccomp_rule_add_array(ctx, action, nr, 0, null);
    }
    Memory array = new Memory((long) LibSeccomp.SCMP_ARG_CMP_SIZE * conditions.size());
    array.clear();
    for (int i = 0; i < conditions.size(); i++) {
      SeccompArgCondition c = conditions.get(i);
      long base = (long) i * LibSeccomp.SCMP_ARG_CMP_SIZE;
      array.setInt(base, c.index());
      array.setInt(base + 4, opValue(c.op()));
      array.setLong(base + 8, c.value());
      array.setLong(base + 16, c.valueTwo());
    }
    return seccomp.seccomp_rule_add_array(ctx, action, nr, conditions.size(), array);
  }

  // The program goes to an anonymous memory file and is read back from it: nothing is left on
  // disk, and the descriptor is close-on-exec so no concurrently spawned child inherits it.
  private byte[] export(Pointer ctx, SeccompProfile profile) {
    int fd;
    try {
      fd = libc.memfd_create("jailer-seccomp", LibC.MFD_CLOEXEC);
    } catch (LastErrorException e) {
      throw JailerException.internal(
          "memfd_create failed: " + libc.strerror(e.getErrorCode()), e);
    }
    try {
      check(seccomp.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf");
      byte[] program = readAll(fd);
      if (program.length == 0 || program.length % BPF_INSTRUCTION_BYTES != 0) {
        throw JailerException.internal("seccomp_export_bpf wrote " + program.length
            + " bytes for seccomp profile " + profile.name()
            + ", not a whole number of instructions", null);
      }
      return program;
    } finally {
      try {
        libc.close(fd);
      } catch (LastErrorException e) {
        logger.log(Level.FINE, "close of the BPF memfd failed", e);
      }
    }
  }

  private byte[] readAll(int fd) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    long offset = 0;
    while (true) {
      long n;
      try {
        n = libc.pread(fd, buffer, new NativeLong(buffer.length), new NativeLong(offset))
            .longValue();
      } catch (LastErrorException e) {
        throw JailerException.internal(
            "reading the exported BPF failed: " + libc.strerror(e.getErrorCode()), e);
      }
      if (n == 0) {
        return out.toByteArray();
      }
      out.write(buffer, 0, (int) n);
      offset += n;
      if (offset > MAX_PROGRAM_BYTES) {
        throw JailerException.internal("the exported BPF program exceeds " + MAX_PROGRAM_BYTES
            + " bytes, the kernel's limit; the profile has too many rules", null);
      }
    }
  }

  private void check(int rc, String call) {
    if (rc < 0) {
      throw JailerException.internal(call + " failed: " + errnoText(rc), null);
    }
  }

  private String errnoText(int rc) {
    return "errno " + -rc + ", " + libc.strerror(-rc);
  }

  static int actionValue(SeccompAction action) {
    return switch (action.type()) {
      case KILL_PROCESS -> LibSeccomp.SCMP_ACT_KILL_PROCESS;
      case KILL_THREAD -> LibSeccomp.SCMP_ACT_KILL_THREAD;
      case TRAP -> LibSeccomp.SCMP_ACT_TRAP;
      case ERRNO -> LibSeccomp.SCMP_ACT_ERRNO_BASE | (action.errno() & 0xffff);
      case ALLOW -> LibSeccomp.SCMP_ACT_ALLOW;
      case LOG -> LibSeccomp.SCMP_ACT_LOG;
    };
  }

  private static int opValue(SeccompArgCondition.Op op) {
    return switch (op) {
      case NE -> LibSeccomp.SCMP_CMP_NE;
      case LT -> LibSeccomp.SCMP_CMP_LT;
      case LE -> LibSeccomp.SCMP_CMP_LE;
      case EQ -> LibSeccomp.SCMP_CMP_EQ;
      case GE -> LibSeccomp.SCMP_CMP_GE;
      case GT -> LibSeccomp.SCMP_CMP_GT;
      case MASKED_EQ -> LibSeccomp.SCMP_CMP_MASKED_EQ;
    };
  }
}
