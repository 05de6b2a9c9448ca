/* A shim that tries one thing its sandbox should allow or forbid and reports what happened. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int report_open(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd < 0) {
    printf("denied %s: %s\n", path, strerror(errno));
    return 1;
  }
  char buf[64];
  ssize_t n = (flags & O_ACCMODE) == O_RDONLY ? read(fd, buf, sizeof buf) : write(fd, "x", 1);
  printf("allowed %s (%zd bytes)\n", path, n);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "hello";
  if (!strcmp(mode, "hello")) {
    printf("hello from the box\n");
  } else if (!strcmp(mode, "read")) {
    return report_open(argv[2], O_RDONLY);
  } else if (!strcmp(mode, "write")) {
    return report_open(argv[2], O_WRONLY | O_CREAT | O_TRUNC);
  } else if (!strcmp(mode, "ifaces")) {
    FILE *f = fopen("/proc/net/dev", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
      if (++n <= 2) continue;
      char *colon = strchr(line, ':');
      if (!colon) continue;
      *colon = 0;
      char *name = line;
      while (*name == ' ') name++;
      printf("iface %s\n", name);
    }
  } else if (!strcmp(mode, "forbidden")) {
    printf("before\n");
    syscall(SYS_keyctl, 0, 0, 0, 0, 0);
    printf("after\n");
  } else if (!strcmp(mode, "hog")) {
    for (size_t total = 0;; total += 1 << 20) {
      char *p = malloc(1 << 20);
      if (!p) { printf("malloc failed at %zu\n", total); return 3; }
      memset(p, 1, 1 << 20);
    }
  } else if (!strcmp(mode, "forks")) {
    int want = atoi(argv[2]), made = 0;
    for (int i = 0; i < want; i++) {
      pid_t pid = fork();
      if (pid == 0) { pause(); _exit(0); }
      if (pid > 0) made++;
    }
    printf("forked %d of %d\n", made, want);
    kill(0, SIGKILL);
  } else if (!strcmp(mode, "nofile")) {
    int n = 0;
    while (open("/dev/null", O_RDONLY) >= 0) n++;
    printf("opened %d more (%s)\n", n, strerror(errno));
  } else if (!strcmp(mode, "env")) {
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
  } else if (!strcmp(mode, "fds")) {
    DIR *d = opendir("/proc/self/fd");
    int self = dirfd(d);
    struct dirent *entry;
    while ((entry = readdir(d))) {
      if (entry->d_name[0] == '.' || atoi(entry->d_name) == self) continue;
      printf("fd %s\n", entry->d_name);
    }
  } else if (!strcmp(mode, "plant")) {
    unlink(argv[2]);
    if (symlink(argv[3], argv[2]) != 0) { printf("symlink failed: %s\n", strerror(errno)); return 4; }
    printf("planted %s -> %s\n", argv[2], argv[3]);
  } else if (!strcmp(mode, "sleep")) {
    printf("sleeping\n");
    for (;;) pause();
  } else if (!strcmp(mode, "term")) {
    signal(SIGTERM, SIG_IGN);
    printf("ignoring SIGTERM\n");
    for (;;) pause();
  } else if (!strcmp(mode, "limits")) {
    FILE *f = fopen("/proc/self/limits", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
  } else if (!strcmp(mode, "uname")) {
    long rc = syscall(SYS_uname, NULL);
    printf("uname: %ld errno %d\n", rc, rc < 0 ? errno : 0);
  } else if (!strcmp(mode, "exit")) {
    return atoi(argv[2]);
  }
  return 0;
}
