#!/usr/bin/env bash
# Installs what the real-VM test (QemuVmTest) needs and gives /dev/kvm the group access a
# Debian host with udev has. Safe to run again: every step leaves a finished install alone.
set -euo pipefail

packages=(qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} > 0)); then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# udev gives /dev/kvm to the kvm group with mode 0660; containers and minimal VMs often leave
# it root-only. The jailer hands a box the device's group, never root's rights, so without
# this the box user could not open it.
if [[ -c /dev/kvm ]]; then
  groupadd -f kvm
  chgrp kvm /dev/kvm
  chmod 0660 /dev/kvm
fi

# Some Debian kernels are installed readable by root only; the test copies the kernel as root,
# so only its presence is checked here.
if ! compgen -G '/boot/vmlinuz-*-cloud-amd64' >/dev/null; then
  echo "install-vm-packages: no /boot/vmlinuz-*-cloud-amd64 after installing the kernel" >&2
  exit 1
fi
