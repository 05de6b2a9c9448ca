/**
 * Seccomp policies for the shim: the {@link dev.jailer.core.seccomp.SeccompProfile} model, the
 * built-in and OCI-file sources of {@link dev.jailer.core.seccomp.SeccompProfiles}, and the
 * {@link dev.jailer.core.seccomp.SeccompCompiler} contract that turns a profile into the BPF
 * program bwrap installs. Plain Java: the compiler lives in {@code dev.jailer.core.nativeaccess}.
 */
package dev.jailer.core.seccomp;
