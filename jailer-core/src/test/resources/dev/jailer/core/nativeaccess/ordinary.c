/* Ordinary work a VMM does: a thread, anonymous memory, file reads, stdout. Exits 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg) {
  *(int *)arg = 42;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int value = 0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, &value) != 0) return 3;
  if (pthread_join(thread, NULL) != 0 || value != 42) return 4;

  size_t len = 16 << 20;
  char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 5;
  memset(mem, 1, len);
  if (mprotect(mem, 4096, PROT_READ) != 0) return 6;
  if (munmap(mem, len) != 0) return 7;

  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 8;
  char buf[64] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 9;

  pid_t child = fork();
  if (child < 0) return 10;
  if (child == 0) _exit(7);
  int status;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
    return 11;

  printf("read:%s\n", buf);
  return fflush(stdout) == 0 ? 0 : 12;
}
