package dev.jailer.core.seccomp;

/**
 * Compiles a {@link SeccompProfile} into the classic BPF program that bwrap's {@code --seccomp
 * FD} expects. Obtain one from {@code dev.jailer.core.nativeaccess.NativeAccess#seccompCompiler()}.
 *
 * <p>Implementations are thread-safe.
 */
public interface SeccompCompiler {
  /** Size of one instruction ({@code struct sock_filter} in linux/filter.h). */
  int BPF_INSTRUCTION_BYTES = 8;

  /**
   * Compiles {@code profile} for the host's native architecture. The program kills the process
   * for a call made through any other ABI (for example 32-bit {@code int 0x80} on x86_64).
   * System call names unknown to the host's libseccomp or absent on this architecture are
   * skipped, as runc does, and logged at FINE.
   *
   * @return the program in host byte order, a whole number of {@value #BPF_INSTRUCTION_BYTES}-byte
   *     instructions
   * @throws dev.jailer.core.JailerException INVALID_ARGUMENT ({@code seccomp.file}) when
   *     libseccomp refuses a rule (for example two conflicting rules), naming the rule's origin;
   *     INTERNAL when libseccomp or the export fails otherwise
   */
  byte[] compileBpf(SeccompProfile profile);
}
