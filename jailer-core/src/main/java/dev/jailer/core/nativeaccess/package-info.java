/**
 * The only package that calls native code (through JNA). {@link
 * dev.jailer.core.nativeaccess.NativeAccess} probes each capability once and hands out plain Java
 * interfaces; nothing outside this package sees a JNA type.
 */
package dev.jailer.core.nativeaccess;
