//go:build !amd64

package main

// mapLow is unused where there is no int $0x80 entry.
const mapLow = 0

// int80 reports false: only amd64 has an i386 compat entry we can reach.
func int80(nr, a1, a2, a3, a4, a5 uintptr) (uintptr, bool) { return 0, false }
