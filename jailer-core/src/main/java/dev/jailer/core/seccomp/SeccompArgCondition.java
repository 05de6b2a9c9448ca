package dev.jailer.core.seccomp;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

/**
 * One comparison of a system call argument, as in the {@code args} entries of an OCI seccomp
 * profile. Values are unsigned 64-bit numbers held in a {@code long} (read them with
 * {@link Long#toUnsignedString(long)}).
 *
 * @param index which argument, 0 to 5 (the kernel passes at most six)
 * @param value the value compared with; for {@link Op#MASKED_EQ} the mask
 * @param valueTwo for {@link Op#MASKED_EQ} the value the masked argument must equal; otherwise
 *     unused (0 in OCI files)
 * @param op the comparison
 */
public record SeccompArgCondition(int index, long value, long valueTwo, Op op) {
  /** Highest argument index: system calls take at most six arguments. */
  public static final int MAX_INDEX = 5;

  /** The comparisons, named as in the OCI runtime spec. */
  public enum Op {
    /** {@code SCMP_CMP_NE}: argument != value. */
    NE("SCMP_CMP_NE"),
    /** {@code SCMP_CMP_LT}: argument < value (unsigned). */
    LT("SCMP_CMP_LT"),
    /** {@code SCMP_CMP_LE}: argument <= value (unsigned). */
    LE("SCMP_CMP_LE"),
    /** {@code SCMP_CMP_EQ}: argument == value. */
    EQ("SCMP_CMP_EQ"),
    /** {@code SCMP_CMP_GE}: argument >= value (unsigned). */
    GE("SCMP_CMP_GE"),
    /** {@code SCMP_CMP_GT}: argument > value (unsigned). */
    GT("SCMP_CMP_GT"),
    /** {@code SCMP_CMP_MASKED_EQ}: (argument & value) == valueTwo. */
    MASKED_EQ("SCMP_CMP_MASKED_EQ");

    private final String ociName;

    Op(String ociName) {
      this.ociName = ociName;
    }

    /** The name the OCI runtime spec gives this comparison. */
    public String ociName() {
      return ociName;
    }
  }

  /**
   * Checks the index.
   *
   * @throws IllegalArgumentException if {@code index} is outside 0..5
   */
  public SeccompArgCondition {
    requireNonNull(op, "op");
    checkArgument(index >= 0 && index <= MAX_INDEX, "argument index must be 0..5, got %s", index);
  }

  /** argument {@code index} equals {@code value}. */
  public static SeccompArgCondition eq(int index, long value) {
    return new SeccompArgCondition(index, value, 0, Op.EQ);
  }

  /** argument {@code index} with {@code mask} applied equals {@code expected}. */
  public static SeccompArgCondition maskedEq(int index, long mask, long expected) {
    return new SeccompArgCondition(index, mask, expected, Op.MASKED_EQ);
  }
}
