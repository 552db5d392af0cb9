package kubeevents

import (
	"context"
	"testing"
	"time"
)

// BenchmarkPost is the cost on the CreateContainer path: queueing one
// decision (the queue is drained outside the timer).
func BenchmarkPost(b *testing.B) {
	a := newAPIServer(b)
	s, _ := newSink(b, a, b.N+1)
	d := tighten()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Container = string(rune('a' + i%26))
		d.Pod = "p" + string(rune('a'+i/26%26))
		s.Post(d)
	}
}

// BenchmarkSend is one decision queued and posted to a TLS API server over
// a kept-alive connection.
func BenchmarkSend(b *testing.B) {
	a := newAPIServer(b)
	s, _ := newSink(b, a, 0)
	d := tighten()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Pod = "p" + string(rune(i))
		s.Post(d)
		s.drain(ctx, time.Time{})
	}
}
