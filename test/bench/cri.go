package main

// What sections 3 (pod start) and 8 (concurrent creations) share: a pair of
// identical private containerd instances (CRI + NRI, real runc, driven by
// crictl as kubelet would), nri-seccomp connected to one of them at a time,
// and readers for what containerd and the plugin record about every NRI call.

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

const (
	// criNamespace is the namespace of every benchmark pod.
	criNamespace = "bench"
	// criPluginNRIName is how NRI names nri-seccomp with its default --idx
	// and --name: the "plugin" label of containerd's NRI metrics.
	criPluginNRIName = "10-seccomp"
	// criInjectRule is the rule of testdata/startup-policy.yaml every
	// benchmark container must have had applied.
	criInjectRule = "runtime-default-for-unconfined"
)

// criInstance is a private containerd whose own Prometheus endpoint is on,
// so the time it waits on each NRI plugin call can be read from it.
type criInstance struct {
	*harness.Containerd
	metricsURL string
}

// criPair is two containerd instances started the same way. nri-seccomp is
// connected to one of them (on); the other runs without it. movePlugin
// moves the plugin across, so a difference between the two instances
// themselves cancels out over a run instead of passing for the plugin's cost.
type criPair struct {
	inst    [2]*criInstance
	taps    [2]*nriTap // nil unless asked for: the plugin then connects through them
	on      int
	bin     string
	policy  string
	plugins []*harness.Plugin // every plugin process started, in order
}

// startCRIPair starts both instances and connects nri-seccomp, with
// testdata/startup-policy.yaml, to the first one; with tap, through an
// nriTap in front of each instance's NRI socket.
func startCRIPair(ctx context.Context, env *Env, tap bool) (_ *criPair, err error) {
	images, err := env.Images(ctx)
	if err != nil {
		return nil, fmt.Errorf("build the e2e images: %w", err)
	}
	p := &criPair{bin: env.Bin, policy: filepath.Join(env.Root, "test", "bench", "testdata", "startup-policy.yaml")}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	for i := range p.inst {
		if p.inst[i], err = startCRIInstance(ctx, images); err != nil {
			return p, err
		}
		if tap {
			if p.taps[i], err = startNRITap(filepath.Join(p.inst[i].Dir, "nri-tap.sock"), p.inst[i].NRISocket); err != nil {
				return p, err
			}
		}
	}
	return p, p.startPlugin(ctx)
}

// startPlugin connects nri-seccomp to the instance p.on.
func (p *criPair) startPlugin(ctx context.Context) error {
	var extra []string
	if t := p.taps[p.on]; t != nil {
		// The harness passes containerd's socket first; the last
		// --socket wins.
		extra = []string{"--socket", t.Socket}
	}
	pl, err := p.with().StartPlugin(ctx, p.bin, p.policy, extra...)
	if err != nil {
		return fmt.Errorf("start nri-seccomp on containerd #%d: %w", p.on+1, err)
	}
	p.plugins = append(p.plugins, pl)
	return nil
}

// tap is the relay in front of the instance the plugin is connected to.
func (p *criPair) tap() *nriTap { return p.taps[p.on] }

// startCRIInstance starts a harness containerd and turns its metrics
// endpoint on. The harness writes a fixed config, so the endpoint is
// appended to it and containerd restarted once (the images stay imported).
func startCRIInstance(ctx context.Context, images harness.ImageArchives) (*criInstance, error) {
	c, err := harness.StartContainerd(ctx, harness.ContainerdOptions{Images: images})
	if err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	ci := &criInstance{Containerd: c}
	addr, err := harness.FreeAddr()
	if err != nil {
		return ci, fmt.Errorf("pick a port for containerd's metrics: %w", err)
	}
	f, err := os.OpenFile(c.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return ci, fmt.Errorf("open containerd's config: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n[plugins.\"io.containerd.server.v1.metrics\"]\n  address = %q\n", addr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ci, fmt.Errorf("turn containerd's metrics on: %w", err)
	}
	if err := c.Restart(ctx); err != nil {
		return ci, fmt.Errorf("restart containerd with metrics on: %w", err)
	}
	ci.metricsURL = "http://" + addr + "/v1/metrics"
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, err := harness.HTTPGet(ctx, ci.metricsURL)
		if err == nil && code == 200 {
			return ci, nil
		}
		if time.Now().After(deadline) {
			return ci, fmt.Errorf("containerd's metrics endpoint %s not answering (status %d, %v); log tail:\n%s", ci.metricsURL, code, err, c.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// with is the instance nri-seccomp is connected to, without the other one.
func (p *criPair) with() *criInstance    { return p.inst[p.on] }
func (p *criPair) without() *criInstance { return p.inst[1-p.on] }

// plugin is the running plugin process.
func (p *criPair) plugin() *harness.Plugin { return p.plugins[len(p.plugins)-1] }

// movePlugin stops nri-seccomp (SIGTERM, clean exit) and connects a new
// one, same policy, to the other instance.
func (p *criPair) movePlugin(ctx context.Context) error {
	code, err := p.plugin().Stop()
	if err != nil {
		return fmt.Errorf("stop nri-seccomp: %w; log tail:\n%s", err, p.plugin().LogTail(20))
	}
	if code != 0 {
		return fmt.Errorf("nri-seccomp exited %d on SIGTERM; log tail:\n%s", code, p.plugin().LogTail(20))
	}
	p.on = 1 - p.on
	return p.startPlugin(ctx)
}

// close stops the plugin and both instances with everything they started.
func (p *criPair) close() {
	for _, t := range p.taps {
		if t != nil {
			_ = t.Close()
		}
	}
	for _, ci := range p.inst {
		if ci == nil {
			continue
		}
		if err := ci.Stop(context.Background()); err != nil {
			logf("   teardown of %s: %v", ci.Dir, err)
		}
	}
}

// removePods removes pods (and their containers), all of them even when
// some fail; the benchmark removes them after every round so containerd's
// state does not grow with the round number.
func removePods(ctx context.Context, pods []*harness.Pod) error {
	var errs []error
	for _, pod := range pods {
		if pod == nil {
			continue
		}
		if err := pod.Remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove pod %s: %w", pod.Spec.Name, err))
		}
	}
	return errors.Join(errs...)
}

// nriRequestTimeout reads plugin_request_timeout from the configuration
// containerd actually runs with (`containerd config dump`: the file merged
// with every default), rather than assuming NRI's default.
func nriRequestTimeout(ctx context.Context, c *harness.Containerd) (time.Duration, error) {
	out, err := exec.CommandContext(ctx, c.Tools.Containerd, "--config", c.ConfigPath, "config", "dump").Output()
	if err != nil {
		return 0, fmt.Errorf("containerd config dump: %w", err)
	}
	inNRI := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			// [plugins.'io.containerd.nri.v1.nri'], not its sub-tables.
			inNRI = strings.HasSuffix(strings.Trim(line, "[]'\""), "io.containerd.nri.v1.nri")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !inNRI || !ok || strings.TrimSpace(k) != "plugin_request_timeout" {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `'"`)
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("containerd config dump: plugin_request_timeout %q: %w", v, err)
		}
		return d, nil
	}
	return 0, errors.New("containerd config dump has no plugin_request_timeout in the NRI plugin's table")
}

// nriOp is containerd's latency histogram for one NRI operation of one
// plugin (containerd_nri_plugin_latency_seconds): containerd starts the
// clock before sending the request and stops it when the answer is back,
// so it is the time the request timeout applies to. The buckets are
// Prometheus' defaults (5 ms, 10 ms, 25 ms, ...); the sum is exact.
type nriOp struct {
	Count   float64
	Sum     float64     // seconds
	Buckets []nriBucket // cumulative, by increasing bound
}

type nriBucket struct {
	LE float64 // upper bound, seconds (+Inf last)
	N  float64 // observations <= LE
}

// nriLatency is every operation's histogram for one plugin, by operation
// name (CreateContainer, ValidateContainerAdjustment, ...).
type nriLatency map[string]*nriOp

// Mean is the exact mean latency.
func (o *nriOp) Mean() time.Duration {
	if o == nil || o.Count == 0 {
		return 0
	}
	return time.Duration(o.Sum / o.Count * float64(time.Second))
}

// Bound is the upper bound of the bucket holding the q-quantile (0 < q <=
// 1): the q-quantile is at most this. Bound(1) bounds the worst request.
func (o *nriOp) Bound(q float64) float64 {
	if o == nil || o.Count == 0 {
		return math.NaN()
	}
	for _, b := range o.Buckets {
		if b.N >= q*o.Count {
			return b.LE
		}
	}
	return math.Inf(1)
}

// Total is the exact time spent in all operations, and how many calls.
func (l nriLatency) Total(ops ...string) (time.Duration, float64) {
	var sum, n float64
	for _, op := range ops {
		if o := l[op]; o != nil {
			sum += o.Sum
			n += o.Count
		}
	}
	return time.Duration(sum * float64(time.Second)), n
}

// count is how many calls of op were recorded.
func (l nriLatency) count(op string) float64 {
	if o := l[op]; o != nil {
		return o.Count
	}
	return 0
}

// add returns l + sign*m, operation by operation (both sides come from the
// same containerd build, so their buckets are the same).
func (l nriLatency) add(m nriLatency, sign float64) nriLatency {
	out := nriLatency{}
	acc := func(src nriLatency, f float64) {
		for op, s := range src {
			o := out[op]
			if o == nil {
				o = &nriOp{}
				out[op] = o
			}
			o.Count += f * s.Count
			o.Sum += f * s.Sum
			for j, b := range s.Buckets {
				if len(o.Buckets) <= j {
					o.Buckets = append(o.Buckets, nriBucket{LE: b.LE})
				}
				o.Buckets[j].N += f * b.N
			}
		}
	}
	acc(l, 1)
	acc(m, sign)
	return out
}

// since is the histogram of what happened between prev and l.
func (l nriLatency) since(prev nriLatency) nriLatency { return l.add(prev, -1) }

// plus sums two histograms (the plugin's calls on both instances).
func (l nriLatency) plus(m nriLatency) nriLatency { return l.add(m, 1) }

// nriLatency scrapes containerd's metrics endpoint for the NRI latency
// histograms of the named plugin.
func (ci *criInstance) nriLatency(ctx context.Context, plugin string) (nriLatency, error) {
	code, body, err := harness.HTTPGet(ctx, ci.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("scrape containerd's metrics: %w", err)
	}
	if code != 200 {
		return nil, fmt.Errorf("scrape containerd's metrics: status %d", code)
	}
	return parseNRILatency(body, plugin)
}

// parseNRILatency reads containerd_nri_plugin_latency_seconds_{bucket,sum,count}
// for one plugin from a Prometheus text exposition.
func parseNRILatency(body, plugin string) (nriLatency, error) {
	const base = "containerd_nri_plugin_latency_seconds"
	out := nriLatency{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, base+"_") {
			continue
		}
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, fmt.Errorf("containerd metrics: cannot read %q", line)
		}
		labels := promLabels(labelText)
		if labels["plugin"] != plugin {
			continue
		}
		valueText, _, _ = strings.Cut(strings.TrimSpace(valueText), " ") // the value, without a timestamp; "" if missing
		v, err := strconv.ParseFloat(valueText, 64)
		if err != nil {
			return nil, fmt.Errorf("containerd metrics: value of %q: %w", line, err)
		}
		op := out[labels["operation"]]
		if op == nil {
			op = &nriOp{}
			out[labels["operation"]] = op
		}
		switch strings.TrimPrefix(name, base) {
		case "_bucket":
			le, err := strconv.ParseFloat(labels["le"], 64)
			if err != nil {
				return nil, fmt.Errorf("containerd metrics: bucket bound of %q: %w", line, err)
			}
			op.Buckets = append(op.Buckets, nriBucket{LE: le, N: v})
		case "_sum":
			op.Sum = v
		case "_count":
			op.Count = v
		}
	}
	for _, op := range out {
		slices.SortFunc(op.Buckets, func(a, b nriBucket) int { return cmp.Compare(a.LE, b.LE) })
	}
	return out, nil
}

// promLabels reads k="v",k2="v2" (values here never hold quotes or commas).
func promLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[strings.TrimSpace(k)] = strings.Trim(v, `"`)
		}
	}
	return m
}

// benchDecision is a decision log line (the harness reads when it was made
// and how long the plugin took).
type benchDecision = harness.Decision

// waitDecisions returns the decision logged for each container id, by id,
// waiting briefly: a line is written just after the answer is sent. It
// fails when one is missing or is not the decision the benchmark needs
// (no error, runtime-default injected), so a "with the plugin" figure can
// never come from a container the plugin did not handle.
func waitDecisions(ctx context.Context, plugins []*harness.Plugin, ids []string) (map[string]benchDecision, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := map[string]benchDecision{}
		for _, p := range plugins {
			ds, err := p.Decisions()
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			for _, d := range ds { // Decisions skips the log's start records
				got[d.ContainerID] = d
			}
		}
		var missing []string
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			out := map[string]benchDecision{}
			for _, id := range ids {
				d := got[id]
				if d.Error != "" || !d.Changed || d.Exempt || !slices.Contains(d.Rules, criInjectRule) {
					return nil, fmt.Errorf("container %s (%s/%s): the plugin's decision is not the runtime-default injection the benchmark measures: %s", id, d.Namespace, d.Pod, d.Raw)
				}
				out[id] = d
			}
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no decision logged by nri-seccomp for %d of %d containers created with it (e.g. %s): the plugin did not handle them", len(missing), len(ids), missing[0])
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// runPods runs the pods concurrently (at most par at once) and returns them
// in order; on error the pods already running are removed.
func runPods(ctx context.Context, c *harness.Containerd, names []string, par int) ([]*harness.Pod, error) {
	pods := make([]*harness.Pod, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pods[i], errs[i] = c.RunPod(ctx, harness.PodSpec{Name: name, Namespace: criNamespace})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = removePods(context.Background(), pods)
		return nil, err
	}
	return pods, nil
}

// bootstrapMedianDiff is a 95% percentile-bootstrap interval of
// median(a) - median(b), resampling each side independently. The seed is
// fixed so a report can be reproduced from the same samples.
func bootstrapMedianDiff(a, b []float64, iters int) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(8, 3))
	diffs := make([]float64, iters)
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	for i := range diffs {
		for j := range ra {
			ra[j] = a[rng.IntN(len(a))]
		}
		for j := range rb {
			rb[j] = b[rng.IntN(len(b))]
		}
		diffs[i] = MedianFloat(ra) - MedianFloat(rb)
	}
	slices.Sort(diffs)
	return diffs[int(0.025*float64(iters))], diffs[int(math.Ceil(0.975*float64(iters)))-1]
}

// millisOf converts durations to float milliseconds.
func millisOf(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// medianDur is the median of ds, the mean of the middle two for an even
// count: the same median the bootstrap and the overhead use.
func medianDur(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	if len(xs) == 0 {
		return 0
	}
	return time.Duration(MedianFloat(xs))
}

// shortDur prints sub-millisecond durations in µs and longer ones in ms.
func shortDur(d time.Duration) string {
	if d < time.Millisecond {
		return Micros(d)
	}
	return Millis(d)
}

// boundText renders a bucket bound: "≤ 5 ms", or "> 10 s" past the last one.
func boundText(seconds float64) string {
	switch {
	case math.IsNaN(seconds):
		return "n/a"
	case math.IsInf(seconds, 1):
		return "unbounded (+Inf bucket)"
	}
	return "≤ " + Millis(time.Duration(seconds*float64(time.Second)))
}

// nriTap sits between a plugin and containerd's NRI socket, relaying every
// byte unchanged, and times each request containerd sends to the plugin:
// from the relay having read the request to the relay having read the
// plugin's answer. That is the plugin's whole share
// of a call (decoding, deciding, logging, encoding, and waiting for a CPU),
// exactly, per request; containerd's own histogram adds its side of the
// round trip but only in coarse buckets.
//
// NRI runs two ttrpc connections over one socket, multiplexed in frames of
// [conn id uint32][length uint32][payload]; conn 1 carries the calls from
// the runtime to the plugin. ttrpc messages are [length uint32][stream id
// uint32][type byte][flags byte][data], type 1 a request (its data a
// ttrpc.Request: service = 1, method = 2) and type 2 the response on the
// same stream.
type nriTap struct {
	ln     net.Listener
	target string
	Socket string

	mu      sync.Mutex
	pending map[uint32]tapRequest
	calls   []tapCall
}

type tapRequest struct {
	method string
	sent   time.Time
}

// tapCall is one request the plugin answered.
type tapCall struct {
	Method string
	Took   time.Duration
}

const (
	tapPluginConn   = 1 // NRI's multiplex.PluginServiceConn
	ttrpcHeaderLen  = 10
	ttrpcRequest    = 1
	ttrpcResponse   = 2
	tapMaxFrameSize = 16 << 20
)

// startNRITap listens on socket and relays each connection to target.
func startNRITap(socket, target string) (*nriTap, error) {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("NRI relay: %w", err)
	}
	t := &nriTap{ln: ln, target: target, Socket: socket, pending: map[uint32]tapRequest{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go t.relay(c)
		}
	}()
	return t, nil
}

// Close stops accepting; relayed connections end with their plugin.
func (t *nriTap) Close() error { return t.ln.Close() }

// Calls returns the requests timed since the last call, and forgets them.
func (t *nriTap) Calls() []tapCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.calls
	t.calls = nil
	return out
}

func (t *nriTap) relay(plugin net.Conn) {
	defer plugin.Close()
	runtime, err := net.Dial("unix", t.target)
	if err != nil {
		logf("   NRI relay: %v", err)
		return
	}
	defer runtime.Close()
	done := make(chan struct{}, 2)
	go func() { t.pipe(runtime, plugin); done <- struct{}{} }()
	go func() { t.pipe(plugin, runtime); done <- struct{}{} }()
	<-done // one side closed: close both, so the other pipe ends too
	plugin.Close()
	runtime.Close()
	<-done
}

// pipe copies frames from src to dst, feeding conn 1's bytes to a ttrpc
// message reader. A message is stamped when the relay has read it, before
// forwarding it: a request is then on record before the plugin can answer
// it, and an answer before containerd (and so crictl) can see it. The time
// of a call therefore includes the relay forwarding the request (one write
// on a unix socket), and not forwarding the answer.
func (t *nriTap) pipe(src, dst net.Conn) {
	var stream []byte // conn 1's bytes not yet parsed into messages
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(src, hdr); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[4:8])
		if n > tapMaxFrameSize {
			logf("   NRI relay: frame of %d bytes, giving up on this connection", n)
			return
		}
		frame := make([]byte, 8+int(n))
		copy(frame, hdr)
		if _, err := io.ReadFull(src, frame[8:]); err != nil {
			return
		}
		at := time.Now()
		if binary.BigEndian.Uint32(hdr[0:4]) == tapPluginConn {
			stream = append(stream, frame[8:]...)
			for len(stream) >= ttrpcHeaderLen {
				size := ttrpcHeaderLen + int(binary.BigEndian.Uint32(stream[0:4]))
				if len(stream) < size {
					break
				}
				t.message(binary.BigEndian.Uint32(stream[4:8]), stream[8], stream[ttrpcHeaderLen:size], at)
				stream = stream[size:]
			}
		}
		if _, err := dst.Write(frame); err != nil {
			return
		}
	}
}

func (t *nriTap) message(id uint32, typ byte, data []byte, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch typ {
	case ttrpcRequest:
		t.pending[id] = tapRequest{method: ttrpcMethod(data), sent: at}
	case ttrpcResponse:
		if req, ok := t.pending[id]; ok {
			delete(t.pending, id)
			t.calls = append(t.calls, tapCall{Method: req.method, Took: at.Sub(req.sent)})
		}
	}
}

// ttrpcMethod reads the method name (field 2) of a ttrpc.Request.
func ttrpcMethod(b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "?"
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "?"
			}
			return string(v)
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "?"
		}
		b = b[n:]
	}
	return "?"
}
