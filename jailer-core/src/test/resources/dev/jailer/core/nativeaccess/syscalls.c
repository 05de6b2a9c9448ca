/*
 * Makes the system call named by argv[1]. Prints "before" first, then, if it survives,
 * "survived rc=<rc> errno=<errno>" and exits 0. With "thread:<call>", a second thread makes the
 * call while the main thread waits a second and then prints "main survived": a filter that kills
 * only the calling thread lets the main thread finish.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int call(const char *what) {
  long rc;
  errno = 0;
  if (strcmp(what, "ptrace") == 0) {
    rc = syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
  } else if (strcmp(what, "unshare") == 0) {
    rc = syscall(SYS_unshare, CLONE_NEWUSER);
  } else if (strcmp(what, "mount") == 0) {
    rc = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
  } else if (strcmp(what, "keyctl") == 0) {
    rc = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
  } else if (strcmp(what, "clone-newuser") == 0) {
    rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0) _exit(0);
  } else if (strcmp(what, "clone3") == 0) {
    rc = syscall(SYS_clone3, NULL, 0);
  } else if (strcmp(what, "personality-query") == 0) {
    rc = personality(0xffffffff);
  } else if (strcmp(what, "personality-no-aslr") == 0) {
    rc = personality(ADDR_NO_RANDOMIZE);
  } else if (strcmp(what, "socket-unix") == 0) {
    rc = socket(AF_UNIX, SOCK_STREAM, 0);
  } else if (strcmp(what, "socket-packet") == 0) {
    rc = socket(AF_PACKET, SOCK_RAW, 0);
  } else if (strcmp(what, "uname") == 0) {
    struct utsname u;
    rc = uname(&u);
  } else if (strcmp(what, "getpriority-pgrp") == 0) {
    rc = syscall(SYS_getpriority, PRIO_PGRP, 0);
  } else if (strcmp(what, "getpriority-process") == 0) {
    rc = syscall(SYS_getpriority, PRIO_PROCESS, 0);
#if defined(__x86_64__)
  } else if (strcmp(what, "int80-getpid") == 0) {
    /* The 32-bit ABI: getpid is 20 there. The filter sees AUDIT_ARCH_I386. */
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    rc = ret;
  } else if (strcmp(what, "x32-getpid") == 0) {
    /* The x32 ABI marks numbers with bit 30 (__X32_SYSCALL_BIT); 39 is getpid. */
    rc = syscall(0x40000000L | 39);
#endif
  } else {
    fprintf(stderr, "unknown call %s\n", what);
    return 2;
  }
  printf("survived rc=%ld errno=%d\n", rc, errno);
  fflush(stdout);
  return 0;
}

static void *thread_main(void *what) {
  call(what);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  printf("before\n");
  fflush(stdout);
  if (strncmp(argv[1], "thread:", 7) != 0) return call(argv[1]);

  pthread_t thread;
  if (pthread_create(&thread, NULL, thread_main, argv[1] + 7) != 0) return 3;
  sleep(1);
  printf("main survived\n");
  return 0;
}
