package convert

import (
	"maps"
	"strings"

	"github.com/containerd/nri/pkg/api"
	nriplugin "github.com/containerd/nri/pkg/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// ImageNameAnnotation is the annotation the CRI plugin of containerd puts on
// every container with the image reference kubelet asked for. NRI 0.12 also
// has Container.Image, but a runtime may leave it empty, so this is the
// fallback.
const ImageNameAnnotation = "io.kubernetes.cri.image-name"

// InputFromNRI converts what NRI tells us about a pod and a container into the
// engine's input. It is the only place where NRI types become engine types, so
// that the daemon and `explain` decide on exactly the same data.
//
// A container whose seccomp policy is nil has no seccomp at all, whatever its
// profile type says: the type is an enum whose zero value is RUNTIME_DEFAULT,
// and containerd gives privileged and Unconfined containers no policy. Such a
// container is therefore reported as Unconfined with Current == nil.
func InputFromNRI(pod *api.PodSandbox, ctr *api.Container) engine.Input {
	in := engine.Input{
		Namespace:   pod.GetNamespace(),
		Pod:         pod.GetName(),
		PodUID:      pod.GetUid(),
		Labels:      maps.Clone(pod.GetLabels()),
		Annotations: effectiveAnnotations(pod, ctr.GetName()),
		Container:   ctr.GetName(),
		Image:       imageName(ctr),
	}
	if in.Labels == nil {
		in.Labels = map[string]string{}
	}

	linux := ctr.GetLinux()
	policy := linux.GetSeccompPolicy()
	if policy == nil {
		in.ProfileType = profile.TypeUnconfined
		return in
	}
	in.Current = SeccompFromNRI(policy)
	in.ProfileType = profileTypeFromNRI(linux.GetSeccompProfile())
	return in
}

// profileTypeFromNRI maps NRI's enum to the engine's names. Only meaningful
// when the container has a seccomp policy (see InputFromNRI).
func profileTypeFromNRI(p *api.SecurityProfile) profile.Type {
	if p == nil {
		// A policy without a profile description: containerd set a
		// policy we cannot name, RuntimeDefault is what CRI does then.
		return profile.TypeRuntimeDefault
	}
	switch p.GetProfileType() {
	case api.SecurityProfile_UNCONFINED:
		// Unconfined with a policy can only come from another plugin or
		// an OCI hook; the policy is what counts, the type is reported.
		return profile.TypeUnconfined
	case api.SecurityProfile_LOCALHOST:
		return profile.TypeLocalhost
	default:
		return profile.TypeRuntimeDefault
	}
}

// imageName prefers NRI's Container.Image and falls back to the CRI
// annotation.
func imageName(ctr *api.Container) string {
	if name := ctr.GetImage().GetName(); name != "" {
		return name
	}
	return ctr.GetAnnotations()[ImageNameAnnotation]
}

// effectiveAnnotations returns the pod's annotations with NRI's scoping
// convention resolved for this container: "<key>/container.<name>" overrides
// "<key>/pod", which overrides "<key>". The scoped keys stay in the map as
// well, so a rule may match either form.
func effectiveAnnotations(pod *api.PodSandbox, container string) map[string]string {
	raw := pod.GetAnnotations()
	out := make(map[string]string, len(raw))
	maps.Copy(out, raw)

	for k := range raw {
		base, ok := strings.CutSuffix(k, "/pod")
		if !ok && container != "" {
			base, ok = strings.CutSuffix(k, "/container."+container)
		}
		if !ok || base == "" {
			continue
		}
		if v, found := nriplugin.GetEffectiveAnnotation(pod, base, container); found {
			out[base] = v
		}
	}
	return out
}

// SeccompFromNRI converts the policy NRI reports into runtime-spec form.
// NRI has no whole-policy converter in this direction (it only converts
// syscalls), so the top level is copied here; DefaultErrno is kept because
// the engine must know what the container really has.
func SeccompFromNRI(p *api.LinuxSeccomp) *specs.LinuxSeccomp {
	if p == nil {
		return nil
	}
	out := &specs.LinuxSeccomp{
		DefaultAction:    specs.LinuxSeccompAction(p.GetDefaultAction()),
		ListenerPath:     p.GetListenerPath(),
		ListenerMetadata: p.GetListenerMetadata(),
	}
	if e := p.GetDefaultErrno(); e != nil {
		v := uint(e.GetValue())
		out.DefaultErrnoRet = &v
	}
	for _, a := range p.GetArchitectures() {
		out.Architectures = append(out.Architectures, specs.Arch(a))
	}
	for _, f := range p.GetFlags() {
		out.Flags = append(out.Flags, specs.LinuxSeccompFlag(f))
	}
	out.Syscalls = syscallsFromNRI(p.GetSyscalls())
	return out
}

// SeccompToNRI converts a runtime-spec policy into the NRI adjustment form
// with NRI's own converter.
//
// NRI carries DefaultErrnoRet here, but the runtime side of NRI (containerd's
// generate.AdjustSeccompPolicy, v0.12.3 and later) drops it when it writes the
// OCI spec, so runc falls back to EPERM for the default action. Callers that
// care put errnoRet on each rule instead; the plugin adds a note to the
// decision when a default errno is about to be lost (see lostDefaultErrno).
func SeccompToNRI(s *specs.LinuxSeccomp) *api.LinuxSeccomp {
	if s == nil {
		return nil
	}
	return api.FromOCILinuxSeccomp(s)
}

// WrittenDigest is the digest of the section the container runs with: the
// engine's digest, unless the decision changed the section and it has a
// default errno, which the runtime side of NRI drops (see SeccompToNRI);
// then the digest of the section without it, the one containerd writes into
// the OCI spec. The decision log carries it, so that posture, which digests
// that spec section, finds the container as decided.
func WrittenDigest(dec *engine.Decision) string {
	if !dec.Changed || dec.Seccomp == nil || dec.Seccomp.DefaultErrnoRet == nil {
		return dec.Digest
	}
	s := *dec.Seccomp
	s.DefaultErrnoRet = nil
	return profile.Digest(&s)
}

// LostDefaultErrno reports whether the runtime will silently replace the
// policy's default errno with EPERM (see SeccompToNRI).
func LostDefaultErrno(s *specs.LinuxSeccomp) bool {
	const eperm = 1
	return s != nil && s.DefaultErrnoRet != nil && *s.DefaultErrnoRet != eperm
}

// syscallsFromNRI is NRI's ToOCILinuxSyscalls with the arguments and errnos
// of all rules in one allocation each instead of one per rule (it runs for
// every container that has a profile), and absent arguments left nil, not
// an empty slice, so the runtime-spec form is canonical and digests of the
// same policy agree whichever way it came in. Names are shared with the
// message, as NRI's conversion shares them.
func syscallsFromNRI(in []*api.LinuxSyscall) []specs.LinuxSyscall {
	if len(in) == 0 {
		return nil
	}
	nargs, nerrno := 0, 0
	for _, sc := range in {
		nargs += len(sc.GetArgs())
		if sc.GetErrnoRet() != nil {
			nerrno++
		}
	}
	out := make([]specs.LinuxSyscall, len(in))
	args := make([]specs.LinuxSeccompArg, 0, nargs)
	errnos := make([]uint, 0, nerrno)
	for i, sc := range in {
		out[i] = specs.LinuxSyscall{Names: sc.GetNames(), Action: specs.LinuxSeccompAction(sc.GetAction())}
		if e := sc.GetErrnoRet(); e != nil {
			errnos = append(errnos, uint(e.GetValue()))
			out[i].ErrnoRet = &errnos[len(errnos)-1]
		}
		if len(sc.GetArgs()) == 0 {
			continue
		}
		start := len(args)
		for _, a := range sc.GetArgs() {
			args = append(args, specs.LinuxSeccompArg{Index: uint(a.GetIndex()), Value: a.GetValue(),
				ValueTwo: a.GetValueTwo(), Op: specs.LinuxSeccompOperator(a.GetOp())})
		}
		out[i].Args = args[start:len(args):len(args)]
	}
	return out
}
