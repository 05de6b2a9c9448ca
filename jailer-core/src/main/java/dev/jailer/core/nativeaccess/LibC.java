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

  /**
   * pidfd_open(2) through syscall(2), which glibc 2.36 does not wrap: 434 in the generic
   * syscall table (asm-generic/unistd.h) that x86_64 and aarch64 share since Linux 5.3.
   */
  long SYS_PIDFD_OPEN = 434;

  /** EPOLL_CLOEXEC from sys/epoll.h (the value of O_CLOEXEC, 02000000). */
  int EPOLL_CLOEXEC = 0x80000;

  /** EPOLL_CTL_ADD 1 and EPOLL_CTL_DEL 2 from sys/epoll.h. */
  int EPOLL_CTL_ADD = 1;

  int EPOLL_CTL_DEL = 2;

  /** EPOLLIN 0x001 from sys/epoll.h: a pidfd turns readable when its process ends. */
  int EPOLLIN = 0x001;

  /** long syscall(long number, ...), used with two arguments. */
  long syscall(long number, long arg1, long arg2) throws LastErrorException;

  /** int epoll_create1(int flags). */
  int epoll_create1(int flags) throws LastErrorException;

  /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event). */
  int epoll_ctl(int epfd, int op, int fd, com.sun.jna.Pointer event) throws LastErrorException;

  /** int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout). */
  int epoll_wait(int epfd, com.sun.jna.Pointer events, int maxevents, int timeout)
      throws LastErrorException;

  /** char *strerror(int errnum). */
  String strerror(int errnum);
}
