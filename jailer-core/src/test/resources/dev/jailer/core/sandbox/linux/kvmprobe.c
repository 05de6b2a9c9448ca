/*
 * Opens /dev/kvm the way a VMM does and asks the kernel two questions through it, so a test can
 * tell "the sandbox hid the device" from "the box user may not open it" from "KVM answers".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) {
    printf("denied /dev/kvm: %s\n", strerror(errno));
    return 1;
  }
  printf("opened /dev/kvm\n");
  printf("api version %d\n", ioctl(kvm, KVM_GET_API_VERSION, 0));
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) {
    printf("no vm: %s\n", strerror(errno));
  } else {
    printf("created a vm\n");
    close(vm);
  }
  close(kvm);
  return 0;
}
