// Package nri is the NRI edge of nri-seccomp: it converts what containerd
// tells the plugin about a pod and container into the engine's input (once,
// here), asks the engine for a decision, answers CreateContainer with a
// seccomp adjustment, logs every decision, and keeps the connection to the
// runtime alive.
package nri

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	"sigs.k8s.io/yaml"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
	"github.com/nri-seccomp/nri-seccomp/internal/kubeevents"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/policyhost"
)

var (
	// ErrConfig marks a fatal configuration error: the daemon cannot run
	// as configured and should exit non-zero.
	ErrConfig = errors.New("configuration error")
	// ErrUnsupportedRuntime is returned from Configure when the runtime's
	// NRI is too old to apply seccomp adjustments safely.
	ErrUnsupportedRuntime = errors.New("unsupported runtime")
)

// Decider makes the seccomp decision for one container. *engine.Engine
// implements it; tests use fakes.
type Decider interface {
	Decide(engine.Input) (*engine.Decision, error)
}

// DeciderLoader loads a policy from a file or directory. The daemon uses it
// when the runtime's Configure call names another policy.
type DeciderLoader func(path string) (Decider, error)

// Options configures a Plugin.
type Options struct {
	// Decider is required.
	Decider Decider
	// Loader is used for a policy named in the runtime's configuration
	// (pre-installed plugins get no flags). Nil: such a configuration is
	// refused.
	Loader DeciderLoader
	// Logger receives the decision lines; log.L when nil.
	Logger *log.Entry
	// DecisionLog, when set, receives one JSON line per decision.
	DecisionLog *decisionlog.Writer
	// Node is recorded in the decision log.
	Node string
	// PolicyPath is where Decider was loaded from; Reload loads it again.
	// Empty: Reload fails until the runtime configuration names a policy.
	PolicyPath string
	// Metrics receives counters and health state; nil disables them.
	Metrics *metrics.Metrics
	// DisableValidation stops the plugin from subscribing to
	// ValidateContainerAdjustment. Validation is what closes containerd
	// 2.4.2's fail-open windows after a crash or a timeout (see
	// docs/security.md); turning it off is for measuring those windows.
	DisableValidation bool
	// PolicyFromRuntime: the daemon has no policy of its own and waits
	// for the runtime's Configure call to name one (a pre-installed plugin
	// whose default policy file does not exist). Decider may then be nil;
	// until a policy is loaded every container is refused, and a Configure
	// call without a policy fails.
	PolicyFromRuntime bool
	// OnDecision, when set, is called with every decision record, refused
	// containers included (Error set), after the log line: the daemon's
	// posture scan keeps the decisions of running containers from it. It
	// runs on the creation path and must be quick.
	OnDecision func(decisionlog.Entry)
	// OnPolicy, when set, is called after another policy came into force
	// (a reload that changed it, or one named by the runtime
	// configuration), outside the creation path: the daemon resizes its
	// memory limit to the new policy's live heap.
	OnPolicy func()

	// Events, when set, is told of every decision that set or changed a
	// container's seccomp (the daemon's --kube-events).
	Events EventSink
}

// EventSink is told of each decision that set or changed a container's
// seccomp profile. Post is called on the CreateContainer path: it must not
// block (kubeevents.Sink queues and drops when full).
type EventSink interface {
	Post(kubeevents.Decision)
}

// The NRI events the plugin handles; the stub subscribes to exactly these.
var (
	_ stub.ConfigureInterface       = (*Plugin)(nil)
	_ stub.ShutdownInterface        = (*Plugin)(nil)
	_ stub.CreateContainerInterface = (*Plugin)(nil)

	_ stub.ValidateContainerAdjustmentInterface = (*Plugin)(nil)
	_ stub.SynchronizeInterface                 = (*Plugin)(nil)
)

// Plugin implements the NRI stub interfaces nri-seccomp needs.
type Plugin struct {
	logger *log.Entry
	// line is how decision lines are written for the logger as last seen
	// (decisionline.go).
	line atomic.Pointer[lineCache]
	node string
	now  func() time.Time
	// reg, when set (SetRegistry, before Run), learns every container's
	// identity, decision and PID for the audit pipeline (registry.go).
	reg containerRegistry

	metrics *metrics.Metrics
	// onDecision is Options.OnDecision.
	onDecision func(decisionlog.Entry)
	// onPolicy is Options.OnPolicy, called by the policy host.
	onPolicy func()
	// sink, when set, hears of every decision that changed a profile.
	sink EventSink
	// validating: subscribe to ValidateContainerAdjustment.
	validating bool
	// self is the name the runtime knows this plugin by ("10-seccomp"):
	// the owner it records for the adjustments this plugin makes.
	self atomic.Pointer[string]
	// answers remembers what CreateContainer answered, until validation.
	answers answerBook
	// converted holds the NRI form of the sections decisions answer with.
	converted nriPolicies

	// policy is the policy in force, its reloads and its watch.
	policy *policyhost.Host

	mu   sync.RWMutex
	dlog *decisionlog.Writer
	// needsRuntime: Configure must name a policy (Options.PolicyFromRuntime).
	needsRuntime bool
	// configured counts successful Configure calls; the reconnect loop
	// uses it to tell a connection that worked from one that never did.
	configured int
}

// New returns a Plugin.
func New(opts Options) (*Plugin, error) {
	if opts.Decider == nil && !opts.PolicyFromRuntime {
		return nil, fmt.Errorf("%w: no policy engine", ErrConfig)
	}
	if opts.PolicyFromRuntime && opts.Loader == nil {
		return nil, fmt.Errorf("%w: a policy from the runtime configuration needs a loader", ErrConfig)
	}
	logger := opts.Logger
	if logger == nil {
		logger = log.L
	}
	p := &Plugin{
		logger:       logger,
		node:         opts.Node,
		now:          time.Now,
		metrics:      opts.Metrics,
		onDecision:   opts.OnDecision,
		onPolicy:     opts.OnPolicy,
		sink:         opts.Events,
		validating:   !opts.DisableValidation,
		dlog:         opts.DecisionLog,
		needsRuntime: opts.PolicyFromRuntime,
	}
	ho := policyhost.Options{Path: opts.PolicyPath, Logger: logger, Metrics: opts.Metrics,
		Now: func() time.Time { return p.now() }, OnChange: p.policyChanged}
	if opts.Decider != nil {
		ho.Decider = opts.Decider
	}
	if opts.Loader != nil {
		ho.Loader = func(path string) (policyhost.Decider, error) { return opts.Loader(path) }
	}
	p.policy = policyhost.New(ho)
	opts.Metrics.Caches(p.CacheStats)
	return p, nil
}

// CacheStats returns the size and hit counts of every cache on the decision
// path: the engine's in force (when the policy in force is an engine) and
// the NRI edge's converted sections.
func (p *Plugin) CacheStats() []cache.Stats {
	var out []cache.Stats
	if e, ok := p.policy.Current().(interface{ CacheStats() []cache.Stats }); ok {
		out = e.CacheStats()
	}
	return append(out, p.converted.stats())
}

// RuntimeConfig is the configuration a runtime may pass in Configure: the
// contents of /etc/nri/conf.d/<idx>-<name>.conf for a pre-installed plugin.
// It is YAML (or JSON) and decoded strictly: a misspelt key is an error, not
// a silently ignored setting.
type RuntimeConfig struct {
	// Policy replaces the policy given on the command line.
	Policy string `json:"policy,omitempty"`
	// DecisionLog names a file to append decision records to.
	DecisionLog string `json:"decisionLog,omitempty"`
}

// ParseRuntimeConfig decodes a Configure payload. An empty payload is valid.
func ParseRuntimeConfig(data string) (RuntimeConfig, error) {
	var cfg RuntimeConfig
	if strings.TrimSpace(data) == "" {
		return cfg, nil
	}
	if err := yaml.UnmarshalStrict([]byte(data), &cfg); err != nil {
		return cfg, fmt.Errorf("%w: runtime-supplied plugin config: %w", ErrConfig, err)
	}
	return cfg, nil
}

// minContainerd is the first containerd whose NRI both applies seccomp
// adjustments and tells plugins the container's current policy (NRI 0.12).
// With an older one the plugin would be ignored, or could not tell whether
// its answer loosens the container's profile.
//
// The runtime's own version is checked rather than the NRI version the stub
// reports: when the runtime does not say, the stub infers one from a table
// that stops at containerd 2.2, and would call 2.4 "NRI v0.11".
var minContainerd = [3]int{2, 3, 0}

// Configure checks the runtime and applies a runtime-supplied config.
func (p *Plugin) Configure(ctx context.Context, config, runtime, version string) (api.EventMask, error) {
	logger := p.logger.WithFields(log.Fields{"runtime": runtime, "runtime_version": version})

	if err := checkRuntime(runtime, version); err != nil {
		logger.WithError(err).Error("refusing to register with this runtime")
		return 0, err
	}
	if _, ok := parseSemver(version); !ok && runtime == "containerd" {
		logger.Warn("cannot read the containerd version; seccomp adjustments need containerd >= 2.3")
	}

	cfg, err := ParseRuntimeConfig(config)
	if err != nil {
		logger.WithError(err).Error("bad plugin configuration from the runtime")
		return 0, err
	}
	if err := p.applyRuntimeConfig(logger, cfg); err != nil {
		return 0, err
	}

	p.mu.Lock()
	p.configured++
	p.mu.Unlock()
	p.metrics.Connected(true)
	events := p.events()
	logger.WithField("events", events.PrettyString()).Info("configured by the runtime")
	return events, nil
}

// events is what the plugin subscribes to. containerd waits for every
// subscribed call on the pod's start path, so the plugin takes only those
// it needs: CreateContainer always; ValidateContainerAdjustment when
// validating; PostStartContainer when a registry (audit) or a decision log
// wants the init PID; StartContainer and RemoveContainer when a registry
// must learn the PID before the process runs, and forget the container.
func (p *Plugin) events() api.EventMask {
	var m api.EventMask
	m.Set(api.Event_CREATE_CONTAINER)
	if p.validating {
		m.Set(api.Event_VALIDATE_CONTAINER_ADJUSTMENT)
	}
	p.mu.RLock()
	dlog := p.dlog
	p.mu.RUnlock()
	if p.reg != nil || dlog != nil {
		m.Set(api.Event_POST_START_CONTAINER)
	}
	if p.reg != nil {
		m.Set(api.Event_START_CONTAINER, api.Event_REMOVE_CONTAINER)
	}
	return m
}

func (p *Plugin) applyRuntimeConfig(logger *log.Entry, cfg RuntimeConfig) error {
	var (
		decider policyhost.Decider
		dlog    *decisionlog.Writer
		err     error
	)
	if cfg.Policy == "" && p.needsRuntime {
		err := fmt.Errorf("%w: no policy: the default policy file does not exist and the runtime configuration names none (policy: PATH)", ErrConfig)
		logger.WithError(err).Error("bad plugin configuration from the runtime")
		return err
	}
	if cfg.Policy != "" {
		if !p.policy.CanLoad() {
			err = fmt.Errorf("%w: the runtime configuration names policy %q but this daemon cannot load policies", ErrConfig, cfg.Policy)
			logger.WithError(err).Error("bad plugin configuration from the runtime")
			return err
		}
		if decider, err = p.policy.Load(cfg.Policy); err != nil {
			err = fmt.Errorf("%w: policy %s from the runtime configuration: %w", ErrConfig, cfg.Policy, err)
			logger.WithError(err).Error("bad plugin configuration from the runtime")
			return err
		}
	}
	if cfg.DecisionLog != "" {
		if dlog, err = openDecisionLog(cfg.DecisionLog); err != nil {
			logger.WithError(err).Error("bad plugin configuration from the runtime")
			return err
		}
	}

	if decider != nil {
		rev := p.policy.Use(decider, cfg.Policy)
		logger.WithFields(log.Fields{"policy": cfg.Policy, "revision": rev}).Info("using the policy named by the runtime configuration")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if dlog != nil {
		if err := p.dlog.Close(); err != nil {
			logger.WithError(err).Warn("closing the previous decision log")
		}
		p.dlog = dlog
		logger.WithField("decision_log", cfg.DecisionLog).Info("writing decisions to the file named by the runtime configuration")
	}
	return nil
}

// Shutdown is called when the runtime shuts down; the reconnect loop takes
// over from there.
func (p *Plugin) Shutdown(context.Context) {
	p.logger.Info("runtime is shutting down")
}

// CreateContainer decides the container's seccomp policy. An internal failure
// (an engine error, a panic) becomes an error for the runtime, which then
// refuses to create the container: failing closed is the point of the
// plugin, and a panic must not take the daemon down with it.
func (p *Plugin) CreateContainer(ctx context.Context, pod *api.PodSandbox, ctr *api.Container) (adj *api.ContainerAdjustment, _ []*api.ContainerUpdate, retErr error) {
	start := p.now()
	rec := pendingEntry{Entry: decisionlog.Entry{
		Namespace:   pod.GetNamespace(),
		Pod:         pod.GetName(),
		PodUID:      pod.GetUid(),
		Container:   ctr.GetName(),
		ContainerID: ctr.GetId(),
		Rules:       []string{},
	}, start: start}

	defer func() {
		if r := recover(); r != nil {
			adj = nil
			retErr = p.refusal(rec, fmt.Errorf("internal error: panic: %v", r))
			p.logger.WithField("stack", string(debug.Stack())).Error("recovered from a panic in CreateContainer")
		}
		rec.Time = start.UTC()
		rec.LatencyMicros = p.now().Sub(start).Microseconds()
		if retErr != nil {
			rec.Error = retErr.Error()
		}
		p.record(ctx, rec)
	}()

	adj, err := p.decide(pod, ctr, &rec)
	if err != nil {
		if pe, ok := errors.AsType[*dryrun.PanicError](err); ok {
			p.logger.WithField("stack", string(pe.Stack)).Error("recovered from a panic in the engine")
		}
		return nil, nil, p.refusal(rec, err)
	}
	if p.validating {
		p.answers.put(ctr.GetId(), adj.GetLinux().GetSeccompPolicy(), start)
	}
	return adj, nil, nil
}

// decide does the work of CreateContainer, filling rec as it learns things.
func (p *Plugin) decide(pod *api.PodSandbox, ctr *api.Container, rec *pendingEntry) (*api.ContainerAdjustment, error) {
	in := convert.InputFromNRI(pod, ctr)
	rec.Image = in.Image
	rec.ProfileType = string(in.ProfileType)

	d := p.policy.Current()
	if d == nil {
		return nil, errors.New("no policy loaded: the runtime configuration has not named one")
	}
	dec, notes, err := dryrun.Evaluate(d, in)
	if dec != nil {
		for _, r := range dec.Rules {
			rec.Rules = append(rec.Rules, r.Name)
			rec.applied = append(rec.applied, r)
		}
		rec.Mode = dec.Mode
		rec.Exempt = dec.Exempt
		rec.Digest = p.converted.written(dec)
		rec.PolicyRevision = dec.PolicyRevision
	}
	rec.Notes = notes
	if err != nil || !dec.Changed {
		return nil, err
	}
	rec.Changed = true
	adj := &api.ContainerAdjustment{}
	adj.SetLinuxSeccompPolicy(p.converted.get(dec))
	return adj, nil
}

func (p *Plugin) refusal(rec pendingEntry, cause error) error {
	return fmt.Errorf("%w: %s/%s container %q: %w", dryrun.ErrRefused, rec.Namespace, rec.Pod, rec.Container, cause)
}

// record writes the decision line and the decision log entry. The shared
// logger is never modified.
func (p *Plugin) record(ctx context.Context, rec pendingEntry) {
	rec.Node = p.node
	p.logDecision(ctx, &rec.Entry)
	p.noteDecision(rec.Entry)
	if p.onDecision != nil {
		p.onDecision(rec.Entry)
	}
	p.postEvent(rec)

	// Held while writing, so that Configure cannot close the log under us.
	p.mu.RLock()
	err := p.dlog.Write(rec.Entry)
	p.mu.RUnlock()
	if err != nil {
		// The decision is already made and applied; losing its audit
		// record must not also fail the container.
		p.metrics.Error(metrics.ErrorDecisionLog)
		p.logger.WithError(err).Warn("writing the decision log")
	}
	// The histogram counts all the time the runtime waits for, the log
	// lines included; the record's latency could only count the decision.
	took := time.Duration(rec.LatencyMicros) * time.Microsecond
	if !rec.start.IsZero() {
		took = p.now().Sub(rec.start)
	}
	p.metrics.Decision(rec.outcome(), rec.Mode, rec.applied, took)
}

// postEvent tells the event sink of a decision that set or changed the
// container's seccomp; refusals already reach the pod's events through the
// kubelet, and unchanged or exempt containers have nothing to explain.
func (p *Plugin) postEvent(rec pendingEntry) {
	if p.sink == nil || rec.Error != "" || !rec.Changed {
		return
	}
	d := kubeevents.Decision{
		Namespace: rec.Namespace, Pod: rec.Pod, PodUID: rec.PodUID, Container: rec.Container,
		ProfileType: rec.ProfileType, Digest: rec.Digest, PolicyRevision: rec.PolicyRevision,
		Rules: rec.applied, // the sink copies it
	}
	p.sink.Post(d)
}

// pendingEntry is the decision-log entry CreateContainer fills as it
// learns things, with what only the metrics need beside it.
type pendingEntry struct {
	decisionlog.Entry
	// applied is what the metrics count: each applied rule with its
	// action and mode (the log only names the rules).
	applied []engine.RuleResult
	// start is when CreateContainer was called (monotonic): the metrics'
	// latency runs from it to the end of the record.
	start time.Time
}

// openDecisionLog opens the decision log a configuration names; failing
// to is a configuration error.
func openDecisionLog(path string) (*decisionlog.Writer, error) {
	w, err := decisionlog.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return w, nil
}

func (r *pendingEntry) outcome() string {
	switch {
	case r.Error != "":
		return metrics.OutcomeRefused
	case r.Exempt:
		return metrics.OutcomeExempt
	case r.Changed:
		return metrics.OutcomeChanged
	}
	return metrics.OutcomeUnchanged
}

// checkRuntime refuses runtimes known to be too old. Other runtimes, and
// versions that do not parse (development builds), are let through with a
// warning at most: refusing them would leave their containers unfiltered for
// a guess.
func checkRuntime(runtime, version string) error {
	if runtime != "containerd" {
		return nil
	}
	got, ok := parseSemver(version)
	if !ok {
		return nil
	}
	for i := range got {
		if got[i] != minContainerd[i] {
			if got[i] < minContainerd[i] {
				return fmt.Errorf("%w: containerd %s; nri-seccomp needs containerd v%d.%d.%d or later (NRI >= 0.12): older ones ignore seccomp adjustments or do not report the current policy",
					ErrUnsupportedRuntime, version, minContainerd[0], minContainerd[1], minContainerd[2])
			}
			return nil
		}
	}
	return nil
}

// parseSemver reads a semantic version's core, "X.Y.Z" with or without a
// leading "v", followed by an optional "-pre.release" and "+build" (SemVer
// 2.0.0 identifiers: non-empty, dot-separated [0-9A-Za-z-]). A go-installed
// containerd reports "2.4.2+unknown"; a release build "v2.4.2". Only the
// core is returned: a pre-release of the minimum counts as the minimum, the
// NRI it speaks is the release's.
func parseSemver(v string) ([3]int, bool) {
	var out [3]int
	rest := strings.TrimPrefix(v, "v")
	rest, build, hasBuild := strings.Cut(rest, "+")
	if hasBuild && !semverIdentifiers(build) {
		return out, false
	}
	rest, pre, hasPre := strings.Cut(rest, "-")
	if hasPre && !semverIdentifiers(pre) {
		return out, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, s := range parts {
		n, ok := semverNumber(s)
		if !ok {
			return [3]int{}, false
		}
		out[i] = n
	}
	return out, true
}

// semverNumber reads a version number: digits only, bounded so that a
// hostile string cannot overflow it.
func semverNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// semverIdentifiers checks a pre-release or build part: dot-separated,
// non-empty identifiers of ASCII letters, digits and hyphens. The pre-release
// may itself contain hyphens ("rc-1"), so it is cut at the first "-" only.
func semverIdentifiers(s string) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, c := range id {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
	}
	return true
}

// policyChanged calls Options.OnPolicy, as it is when called.
func (p *Plugin) policyChanged() {
	if p.onPolicy != nil {
		p.onPolicy()
	}
}

// Reload loads the policy in force again from its path (policyhost.Host.Reload).
func (p *Plugin) Reload(reason string) (changed bool, err error) { return p.policy.Reload(reason) }

// WatchPolicy reloads the policy when its files change, until ctx ends
// (policyhost.Host.Watch).
func (p *Plugin) WatchPolicy(ctx context.Context, delay time.Duration) error {
	return p.policy.Watch(ctx, delay)
}

// PolicyPath is where the policy in force was loaded from.
func (p *Plugin) PolicyPath() string { return p.policy.Path() }

// PolicyRevision is the revision of the policy in force.
func (p *Plugin) PolicyRevision() string { return p.policy.Revision() }
