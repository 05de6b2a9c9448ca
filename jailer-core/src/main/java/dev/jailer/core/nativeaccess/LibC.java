package dev.jailer.core.nativeaccess;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.NativeLong;

/** The few glibc functions the native code needs. */
interface LibC extends Library {
  String LIBRARY = "c";

  /** MFD_CLOEXEC 0x0001U from linux/memfd.h: no child process inherits the descriptor. */
  int MFD_CLOEXEC = 0x0001;

  /** int memfd_create(const char *name, unsigned int flags) (glibc 2.27+). */
  int memfd_create(String name, int flags) throws LastErrorException;

  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset). */
  NativeLong pread(int fd, byte[] buf, NativeLong count, NativeLong offset)
      throws LastErrorException;

  /** int close(int fd). */
  int close(int fd) throws LastErrorException;

  /** char *strerror(int errnum). */
  String strerror(int errnum);
}
