package dev.jailer.core.nativeaccess;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * The part of libseccomp (seccomp.h, 2.4 and later) that Jailer calls. Loaded by its versioned
 * name {@value #LIBRARY}: the unversioned {@code libseccomp.so} exists only where the -dev
 * package is installed.
 *
 * <p>Every {@code int} function returns 0 or a negated errno. {@code uint32_t} parameters are
 * passed as Java {@code int}, bit for bit.
 */
interface LibSeccomp extends Library {
  String LIBRARY = "libseccomp.so.2";

  // Actions, from seccomp.h (libseccomp).
  /** SCMP_ACT_KILL_PROCESS 0x80000000U. */
  int SCMP_ACT_KILL_PROCESS = 0x80000000;
  /** SCMP_ACT_KILL_THREAD 0x00000000U (SCMP_ACT_KILL is the same value). */
  int SCMP_ACT_KILL_THREAD = 0x00000000;
  /** SCMP_ACT_TRAP 0x00030000U. */
  int SCMP_ACT_TRAP = 0x00030000;
  /** SCMP_ACT_ERRNO(x) is 0x00050000U | (x &amp; 0x0000ffffU). */
  int SCMP_ACT_ERRNO_BASE = 0x00050000;
  /** SCMP_ACT_LOG 0x7ffc0000U. */
  int SCMP_ACT_LOG = 0x7ffc0000;
  /** SCMP_ACT_ALLOW 0x7fff0000U. */
  int SCMP_ACT_ALLOW = 0x7fff0000;

  // enum scmp_filter_attr, from seccomp.h.
  /** SCMP_FLTATR_ACT_BADARCH = 2: action for a call made through a foreign ABI. */
  int SCMP_FLTATR_ACT_BADARCH = 2;

  // enum scmp_compare, from seccomp.h (_SCMP_CMP_MIN = 0 is not a comparison).
  /** SCMP_CMP_NE = 1. */
  int SCMP_CMP_NE = 1;
  /** SCMP_CMP_LT = 2. */
  int SCMP_CMP_LT = 2;
  /** SCMP_CMP_LE = 3. */
  int SCMP_CMP_LE = 3;
  /** SCMP_CMP_EQ = 4. */
  int SCMP_CMP_EQ = 4;
  /** SCMP_CMP_GE = 5. */
  int SCMP_CMP_GE = 5;
  /** SCMP_CMP_GT = 6. */
  int SCMP_CMP_GT = 6;
  /** SCMP_CMP_MASKED_EQ = 7. */
  int SCMP_CMP_MASKED_EQ = 7;

  /**
   * sizeof(struct scmp_arg_cmp) from seccomp.h: {@code unsigned int arg} at 0, {@code enum
   * scmp_compare op} at 4, {@code scmp_datum_t datum_a} (uint64_t) at 8, {@code datum_b} at 16.
   */
  int SCMP_ARG_CMP_SIZE = 24;

  /** __NR_SCMP_ERROR (-1) from seccomp.h: the name is unknown to this libseccomp. */
  int NR_SCMP_ERROR = -1;

  /** scmp_filter_ctx seccomp_init(uint32_t def_action); NULL on failure. */
  Pointer seccomp_init(int defAction);

  /** void seccomp_release(scmp_filter_ctx ctx). */
  void seccomp_release(Pointer ctx);

  /** int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value). */
  int seccomp_attr_set(Pointer ctx, int attr, int value);

  /**
   * int seccomp_syscall_resolve_name(const char *name): the native architecture's number, a
   * negative pseudo-number for a call this architecture lacks, or {@link #NR_SCMP_ERROR}.
   */
  int seccomp_syscall_resolve_name(String name);

  /**
   * int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
   * unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array).
   */
  int seccomp_rule_add_array(Pointer ctx, int action, int syscall, int argCnt, Pointer args);

  /** int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd). */
  int seccomp_export_bpf(Pointer ctx, int fd);

  /**
   * const struct scmp_version *seccomp_version(void): three {@code unsigned int}s, major,
   * minor, micro.
   */
  Pointer seccomp_version();

  /**
   * unsigned int seccomp_api_get(void) (libseccomp 2.4+): 3 or more means the kernel and the
   * library support SCMP_ACT_KILL_PROCESS.
   */
  int seccomp_api_get();
}
