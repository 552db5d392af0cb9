// Package audit builds reports over seccomp audit records (`audit report`,
// posture's evidence): it reads the logs (internal/audit/source), decodes
// them (internal/audit/record) and the daemon's events
// (internal/audit/live), attributes raw records offline through the
// decision log (DecisionLogAttributor), and aggregates per container and
// syscall.
package audit
