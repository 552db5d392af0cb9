package nri

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
)

// The decision line is the daemon's log line for each decision ("seccomp
// decision"). Through logrus it costs a fields map, an entry copied twice,
// another map in the JSON formatter and a reflective, sorted encoding of it:
// most of the plugin's own work per container. When the logger is as the
// daemon sets it up (containerd/log's JSON format on a file, no hooks),
// fastLine writes the same bytes logrus would, appended into a pooled
// buffer and written with one Write; any other logger gets logrus itself.
// TestDecisionLineMatchesLogrus holds the two together.

const (
	msgDecision = "seccomp decision"
	msgRefused  = "seccomp decision failed, container refused"
)

// decisionKeys are the fields the decision line adds to the logger's own.
var decisionKeys = []string{"changed", "container", "container_id", "digest", "error", "exempt", "image",
	"latency", "mode", "notes", "pod", "profile_type", "revision", "rules"}

// decisionFields is the decision line's fields as logrus gets them.
func decisionFields(rec *decisionlog.Entry) log.Fields {
	return log.Fields{
		"pod":          rec.Namespace + "/" + rec.Pod,
		"container":    rec.Container,
		"container_id": rec.ContainerID,
		"image":        rec.Image,
		"profile_type": rec.ProfileType,
		"rules":        rec.Rules,
		"mode":         rec.Mode,
		"exempt":       rec.Exempt,
		"changed":      rec.Changed,
		"digest":       rec.Digest,
		"revision":     rec.PolicyRevision,
		"notes":        rec.Notes,
		"latency":      (time.Duration(rec.LatencyMicros) * time.Microsecond).String(),
	}
}

// logDecision writes the decision line for rec.
func (p *Plugin) logDecision(ctx context.Context, rec *decisionlog.Entry) {
	level := logrus.InfoLevel
	if rec.Error != "" {
		level = logrus.ErrorLevel
	}
	if !p.logger.Logger.IsLevelEnabled(level) {
		return
	}
	if f := p.fastLine(); f != nil {
		f.write(rec, level)
		return
	}
	entry := p.logger.WithContext(ctx).WithFields(decisionFields(rec))
	if rec.Error != "" {
		entry.WithField("error", rec.Error).Error(msgRefused)
	} else {
		entry.Info(msgDecision)
	}
}

// fastLine returns the writer for the logger as it is now, or nil when its
// lines must go through logrus. The answer is kept per formatter, output and
// hooks seen, so a logger reconfigured later is honoured.
func (p *Plugin) fastLine() *lineWriter {
	l := p.logger.Logger
	f, _ := l.Formatter.(*logrus.JSONFormatter)
	out, _ := l.Out.(*os.File)
	if c := p.line.Load(); c != nil && c.formatter == f && c.out == out && c.hooks == len(l.Hooks) {
		return c.w
	}
	c := &lineCache{formatter: f, out: out, hooks: len(l.Hooks), w: newLineWriter(p.logger, f, out)}
	p.line.Store(c)
	return c.w
}

// lineCache is fastLine's answer for one logger configuration.
type lineCache struct {
	formatter *logrus.JSONFormatter
	out       *os.File
	hooks     int
	w         *lineWriter
}

// lineWriter writes decision lines as logrus's JSONFormatter would for one
// logger entry: the entry's own fields are encoded once, here.
type lineWriter struct {
	out        *os.File
	timeFormat string
	// base holds the entry's own fields, encoded, by key.
	base map[string][]byte
	// keys are all the line's keys in encoding/json's (sorted) order, with
	// and without the error field.
	keys, errKeys []string
}

// newLineWriter returns a lineWriter, or nil when logrus would write
// something this one cannot reproduce: another formatter or option, a hook,
// caller reporting, an output that is not a file (a file's Write is atomic
// per call for concurrent writers; another writer needs logrus's lock), or
// logger fields that clash with the line's or are not plain values.
func newLineWriter(e *log.Entry, f *logrus.JSONFormatter, out *os.File) *lineWriter {
	l := e.Logger
	if f == nil || out == nil || len(l.Hooks) > 0 || l.ReportCaller || f.DisableTimestamp || f.DisableHTMLEscape ||
		f.DataKey != "" || len(f.FieldMap) > 0 || f.PrettyPrint || f.CallerPrettyfier != nil {
		return nil
	}
	w := &lineWriter{out: out, timeFormat: f.TimestampFormat, base: map[string][]byte{}}
	if w.timeFormat == "" {
		w.timeFormat = time.RFC3339
	}
	for k, v := range e.Data {
		switch v.(type) {
		case string, bool, int, int64, uint32, uint64:
		default:
			return nil
		}
		if k == logrus.FieldKeyTime || k == logrus.FieldKeyMsg || k == logrus.FieldKeyLevel || k == logrus.FieldKeyLogrusError {
			return nil // logrus renames these ("fields.time")
		}
		if slices.Contains(decisionKeys, k) {
			continue // the line's own field replaces it
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		w.base[k] = b
	}
	all := []string{logrus.FieldKeyTime, logrus.FieldKeyMsg, logrus.FieldKeyLevel}
	for k := range w.base {
		all = append(all, k)
	}
	for _, k := range decisionKeys {
		if k != "error" {
			all = append(all, k)
		}
	}
	w.keys = slices.Sorted(slices.Values(all))
	w.errKeys = slices.Sorted(slices.Values(append(all, "error")))
	return w
}

// write encodes rec's line and writes it with one Write.
func (w *lineWriter) write(rec *decisionlog.Entry, level logrus.Level) {
	buf := lineBufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 64<<10 {
			lineBufs.Put(buf)
		}
	}()
	*buf = append(w.appendLine((*buf)[:0], rec, level, time.Now()), '\n')
	// As logrus does, a failed write of a log line is not the caller's
	// problem; it has nowhere better to report it.
	_, _ = w.out.Write(*buf)
}

// appendLine appends rec's line without its newline, timed at now.
func (w *lineWriter) appendLine(b []byte, rec *decisionlog.Entry, level logrus.Level, now time.Time) []byte {
	keys := w.keys
	if rec.Error != "" {
		keys = w.errKeys
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(decisionlog.AppendString(b, k), ':')
		b = w.appendValue(b, k, rec, level, now)
	}
	return append(b, '}')
}

func (w *lineWriter) appendValue(b []byte, k string, rec *decisionlog.Entry, level logrus.Level, now time.Time) []byte {
	switch k {
	case logrus.FieldKeyTime:
		b = append(b, '"')
		b = now.AppendFormat(b, w.timeFormat)
		return append(b, '"')
	case logrus.FieldKeyMsg:
		if rec.Error != "" {
			return decisionlog.AppendString(b, msgRefused)
		}
		return decisionlog.AppendString(b, msgDecision)
	case logrus.FieldKeyLevel:
		return decisionlog.AppendString(b, level.String())
	case "changed":
		return strconv.AppendBool(b, rec.Changed)
	case "container":
		return decisionlog.AppendString(b, rec.Container)
	case "container_id":
		return decisionlog.AppendString(b, rec.ContainerID)
	case "digest":
		return decisionlog.AppendString(b, rec.Digest)
	case "error":
		return decisionlog.AppendString(b, rec.Error)
	case "exempt":
		return strconv.AppendBool(b, rec.Exempt)
	case "image":
		return decisionlog.AppendString(b, rec.Image)
	case "latency":
		return decisionlog.AppendString(b, (time.Duration(rec.LatencyMicros) * time.Microsecond).String())
	case "mode":
		return decisionlog.AppendString(b, rec.Mode)
	case "notes":
		return decisionlog.AppendStrings(b, rec.Notes)
	case "pod":
		// namespace/pod, as one string: escaping is per character.
		b = decisionlog.AppendChars(append(b, '"'), rec.Namespace)
		b = decisionlog.AppendChars(append(b, '/'), rec.Pod)
		return append(b, '"')
	case "profile_type":
		return decisionlog.AppendString(b, rec.ProfileType)
	case "revision":
		return decisionlog.AppendString(b, rec.PolicyRevision)
	case "rules":
		return decisionlog.AppendStrings(b, rec.Rules)
	}
	return append(b, w.base[k]...)
}

// lineBufs are the decision line's buffers (the decision log has its own).
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
