package live

import (
	"encoding/json"
	"io"

	"github.com/containerd/log"
)

// Emit writes one event as the daemon's log line and, when events is set
// (`run --audit-events`), a JSON line. The log line is built fresh: the shared logger is not modified.
func Emit(logger *log.Entry, events io.Writer, ev Event) {
	fields := log.Fields{
		"kind": ev.Kind, "count": ev.Count, "syscall": ev.Syscall, "arch": ev.Arch, "action": ev.Action,
		"refused": ev.Refused, "pid": ev.PID, "comm": ev.Comm, "exe": ev.Exe, "attribution": ev.Attribution,
		"audit_time": ev.Time,
	}
	if ev.Known() {
		fields["pod"] = ev.Namespace + "/" + ev.Pod
		fields["container"] = ev.Container
		fields["mode"] = ev.Mode
		fields["rules"] = ev.Rules
	}
	if ev.ContainerID != "" {
		fields["container_id"] = ev.ContainerID
	}
	msg := "seccomp audit event"
	if ev.Kind == KindSummary {
		msg = "seccomp audit events (summary)"
	}
	entry := logger.WithFields(fields)
	if ev.Refused {
		entry.Warn(msg)
	} else {
		entry.Info(msg)
	}
	if events == nil {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		logger.WithError(err).Warn("encoding an audit event")
		return
	}
	if _, err := events.Write(append(data, '\n')); err != nil {
		logger.WithError(err).Warn("writing the audit events file")
	}
}
