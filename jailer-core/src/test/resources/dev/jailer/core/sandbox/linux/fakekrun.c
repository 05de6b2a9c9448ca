/* Stands in for libkrun: like the real one, it dlopens libkrunfw by name at run time. */
#include <dlfcn.h>
#include <stdio.h>

int krun_start(void) {
  void *fw = dlopen("libkrunfw.so.5", RTLD_NOW);
  if (!fw) {
    fprintf(stderr, "libkrunfw: %s\n", dlerror());
    return 2;
  }
  const char *(*version)(void) = (const char *(*)(void))dlsym(fw, "krunfw_version");
  printf("krunfw version %s\n", version ? version() : "?");
  return 0;
}
