/* A shim linked against libkrun; reports where each library was mapped from. */
#include <stdio.h>
#include <string.h>

int krun_start(void);

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int rc = krun_start();
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[1024];
  while (maps && fgets(line, sizeof line, maps)) {
    char *path = strchr(line, '/');
    if (path && (strstr(path, "libkrun.so") || strstr(path, "libkrunfw.so"))) {
      printf("mapped %s", path);
    }
  }
  return rc;
}
