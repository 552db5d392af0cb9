// Package audit attributes the kernel's seccomp audit records (read by
// internal/audit/record) to containers through internal/containers, and
// turns them into events, reports and least-privilege profiles.
package audit
