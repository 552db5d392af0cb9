package nri

import (
	"fmt"
	"testing"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// mutations returns, for every field of m and of the messages it holds (at
// any depth, first element of lists), a copy of root with that one field
// changed: set where it was unset, changed where it was set. It walks the
// message descriptors, so a field NRI adds is covered without editing this
// test.
func mutations(t *testing.T, root *api.LinuxSeccomp) map[string]*api.LinuxSeccomp {
	out := map[string]*api.LinuxSeccomp{}
	var walk func(path string, get func(*api.LinuxSeccomp) protoreflect.Message, desc protoreflect.MessageDescriptor)
	walk = func(path string, get func(*api.LinuxSeccomp) protoreflect.Message, desc protoreflect.MessageDescriptor) {
		fields := desc.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			name := path + "." + string(fd.Name())
			mutate := func(name string, f func(m protoreflect.Message)) {
				c := proto.Clone(root).(*api.LinuxSeccomp)
				f(get(c))
				out[name] = c
			}
			switch {
			case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
				mutate(name+"+", func(m protoreflect.Message) {
					l := m.Mutable(fd).List()
					l.Append(l.NewElement())
				})
				if get(root).Get(fd).List().Len() > 0 {
					first := func(c *api.LinuxSeccomp) protoreflect.Message { return get(c).Mutable(fd).List().Get(0).Message() }
					walk(name+"[0]", first, fd.Message())
				}
			case fd.IsList():
				mutate(name+"+", func(m protoreflect.Message) { m.Mutable(fd).List().Append(protoreflect.ValueOfString("x")) })
				if get(root).Get(fd).List().Len() > 0 {
					mutate(name+"[0]", func(m protoreflect.Message) {
						l := m.Mutable(fd).List()
						l.Set(0, protoreflect.ValueOfString(l.Get(0).String()+"x"))
					})
				}
			case fd.Kind() == protoreflect.MessageKind:
				if !get(root).Has(fd) {
					mutate(name+" set", func(m protoreflect.Message) { m.Mutable(fd) })
					continue
				}
				mutate(name+" cleared", func(m protoreflect.Message) { m.Clear(fd) })
				walk(name, func(c *api.LinuxSeccomp) protoreflect.Message { return get(c).Mutable(fd).Message() }, fd.Message())
			case fd.Kind() == protoreflect.StringKind:
				mutate(name, func(m protoreflect.Message) { m.Set(fd, protoreflect.ValueOfString(m.Get(fd).String()+"x")) })
			case fd.Kind() == protoreflect.Uint32Kind:
				mutate(name, func(m protoreflect.Message) { m.Set(fd, protoreflect.ValueOfUint32(uint32(m.Get(fd).Uint())+1)) })
			case fd.Kind() == protoreflect.Uint64Kind:
				mutate(name, func(m protoreflect.Message) { m.Set(fd, protoreflect.ValueOfUint64(m.Get(fd).Uint()+1)) })
			default:
				t.Fatalf("%s: field kind %s not handled by this test", name, fd.Kind())
			}
		}
		// Fields this build does not know, as a newer runtime could send.
		mutate := proto.Clone(root).(*api.LinuxSeccomp)
		m := get(mutate)
		m.SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
		out[path+" unknown field"] = mutate
	}
	walk("policy", func(c *api.LinuxSeccomp) protoreflect.Message { return c.ProtoReflect() }, root.ProtoReflect().Descriptor())
	return out
}

// same answers what proto.Equal answers for a change to any one field, at
// any depth, and for equal copies.
func TestNRIPoliciesSameEveryField(t *testing.T) {
	base := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(1),
		Architectures: []specs.Arch{specs.ArchX86_64}, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		ListenerPath: "/run/l.sock", ListenerMetadata: "m",
		Syscalls: []specs.LinuxSyscall{{Names: []string{"socket"}, Action: specs.ActAllow, ErrnoRet: nil,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, ValueTwo: 2, Op: specs.OpMaskedEqual}}},
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(38)}}}
	var c nriPolicies
	want := c.get(&engine.Decision{Changed: true, Seccomp: base, Digest: profile.Digest(base)})
	root := convert.SeccompToNRI(base)
	ms := mutations(t, root)
	if len(ms) < 20 {
		t.Fatalf("only %d mutations: the walk missed fields", len(ms))
	}
	for name, got := range ms {
		if proto.Equal(got, want) {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		for _, w := range []*api.LinuxSeccomp{want, convert.SeccompToNRI(base)} {
			if ok, err := c.same(got, w); err != nil || ok {
				t.Errorf("%s: a different policy compares the same (%v, %v)", name, ok, err)
			}
			if ok, err := c.same(w, got); err != nil || ok {
				t.Errorf("%s (reversed): a different policy compares the same (%v, %v)", name, ok, err)
			}
		}
	}
	if ok, err := c.same(proto.Clone(want).(*api.LinuxSeccomp), want); !ok || err != nil {
		t.Errorf("a copy compares different: %v, %v", ok, err)
	}
	t.Log(fmt.Sprint(len(ms), " mutations"))
}

// written gives writtenDigest's answer, the engine's digest when there is no
// default errno to lose, and digests a section once however many
// containers it answers.
func TestNRIPoliciesWrittenOncePerSection(t *testing.T) {
	errno := uint(38)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &errno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActAllow}}}
	dec := &engine.Decision{Changed: true, Seccomp: s, Digest: "engine-digest"}
	var c nriPolicies
	want := convert.WrittenDigest(dec)
	if want == dec.Digest {
		t.Fatal("writtenDigest should differ from the engine's digest for a default errno")
	}
	for range 3 {
		if got := c.written(dec); got != want {
			t.Fatalf("written %q, want %q", got, want)
		}
	}
	if e := c.entry(dec); e.digest != want || e.nri != c.get(dec) {
		t.Fatalf("entry %+v: want the digest kept beside the section's NRI form", e)
	}
	noErrno := &engine.Decision{Changed: true, Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}, Digest: "engine-digest"}
	if got := c.written(noErrno); got != "engine-digest" {
		t.Fatalf("no default errno: written %q, want the engine's digest", got)
	}
}
