package main

import "syscall"

// mapLow asks mmap for memory in the low 2 GiB, reachable by 32-bit code.
const mapLow = syscall.MAP_32BIT

// int80asm is implemented in int80_amd64.s.
func int80asm(nr, a1, a2, a3, a4, a5 uintptr) uintptr

// int80 issues a system call through the legacy 32-bit entry (int $0x80)
// from this 64-bit process. The kernel runs it as an i386 (compat) call, so
// seccomp filters see AUDIT_ARCH_I386 and the i386 syscall numbers: this is
// the path a filter that forgets the x86 architecture would leave open.
func int80(nr, a1, a2, a3, a4, a5 uintptr) (uintptr, bool) {
	return int80asm(nr, a1, a2, a3, a4, a5), true
}
