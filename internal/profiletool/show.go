package profiletool

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// ShowOptions select what Show prints.
type ShowOptions struct {
	// Native is the architecture the profile is read for (runc always adds
	// it to the filter).
	Native specs.Arch
	// Arch, when set, limits the output to syscalls that exist on it.
	Arch specs.Arch
	// JSON prints the normalised profile as OCI JSON instead of text.
	JSON bool
}

// Show prints the normalised profile: what runc and libseccomp make of it,
// syscalls grouped by verdict, argument conditions spelt out.
func Show(src *Source, opts ShowOptions) ([]byte, error) {
	p, err := profile.FromSpec(src.Spec, opts.Native)
	if err != nil {
		return nil, err
	}
	canon, notes := p.ToSpec(opts.Native)
	notes = append(slices.Clone(p.Inexact), notes...)
	onArch := func(name string) bool {
		if opts.Arch == "" {
			return true
		}
		_, ok := syscalls.Number(string(opts.Arch), name)
		return ok
	}
	if opts.JSON {
		out := *canon
		out.Syscalls = nil
		for _, sc := range canon.Syscalls {
			sc.Names = slices.DeleteFunc(slices.Clone(sc.Names), func(n string) bool { return !onArch(n) })
			if len(sc.Names) > 0 {
				out.Syscalls = append(out.Syscalls, sc)
			}
		}
		b, err := json.MarshalIndent(&out, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}

	var b bytes.Buffer
	kind := "file"
	if src.Builtin {
		kind = "built-in"
	}
	fmt.Fprintf(&b, "profile:       %s (%s)\n", src.Name, kind)
	fmt.Fprintf(&b, "digest:        %s (canonical form)\n", profile.Digest(canon))
	fmt.Fprintf(&b, "default:       %s\n", p.Default)
	fmt.Fprintf(&b, "architectures: %s\n", archList(p))
	flags := "none"
	if len(p.Flags) > 0 {
		flags = fmt.Sprint(p.Flags)
	}
	fmt.Fprintf(&b, "flags:         %s\n", flags)
	if p.ListenerPath != "" {
		fmt.Fprintf(&b, "listener:      %s %s\n", p.ListenerPath, p.ListenerMetadata)
	}
	if opts.Arch != "" {
		fmt.Fprintf(&b, "showing:       syscalls that exist on %s\n", archShort(opts.Arch))
		if !p.AnyArch && !slices.Contains(p.Arches, opts.Arch) {
			fmt.Fprintf(&b, "warning:       %s is not in the profile: every call through it is killed (libseccomp's bad-architecture action)\n", archShort(opts.Arch))
		}
	}

	groups := map[profile.Verdict][]string{}
	var conditional []string
	for name, sc := range p.Syscalls {
		if !onArch(name) {
			continue
		}
		if len(sc.Rules) > 0 {
			conditional = append(conditional, name)
			continue
		}
		groups[sc.Fallback] = append(groups[sc.Fallback], name)
	}
	for _, v := range slices.SortedFunc(maps.Keys(groups), cmpVerdict) {
		names := groups[v]
		slices.Sort(names)
		fmt.Fprintf(&b, "\n%s: %s\n", v, plural(len(names), "syscall"))
		wrap(&b, names, "  ", 100)
	}
	if len(conditional) > 0 {
		slices.Sort(conditional)
		fmt.Fprintf(&b, "\ndepending on arguments: %s\n", plural(len(conditional), "syscall"))
		width := 0
		for _, n := range conditional {
			width = max(width, len(n))
		}
		for _, n := range conditional {
			for i, line := range describeLines(p.Syscalls[n]) {
				label := ""
				if i == 0 {
					label = n
				}
				fmt.Fprintf(&b, "  %-*s  %s\n", width, label, line)
			}
		}
	}
	fmt.Fprintf(&b, "\nevery other syscall: %s\n", p.Default)
	if len(notes) > 0 {
		fmt.Fprintf(&b, "\nnotes (where the profile is read more strictly than written):\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	return b.Bytes(), nil
}

func cmpVerdict(a, b profile.Verdict) int {
	return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.Ret, b.Ret))
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	if strings.HasSuffix(what, "s") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func archShort(a specs.Arch) string {
	return strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_"))
}

func archList(p *profile.Profile) string {
	if p.AnyArch {
		return "any"
	}
	parts := make([]string, len(p.Arches))
	for i, a := range p.Arches {
		parts[i] = archShort(a)
	}
	return strings.Join(parts, " ")
}

func wrap(b *bytes.Buffer, words []string, indent string, width int) {
	line := indent
	for _, w := range words {
		if len(line)+len(w)+1 > width && line != indent {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += w + " "
	}
	if line != indent {
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

// describeLines spells out a syscall's behaviour: one line per verdict its
// rules give ("SCMP_ACT_ALLOW if arg0==0x1 || arg0==0x2"), then "otherwise".
func describeLines(sc *profile.Syscall) []string {
	if len(sc.Rules) == 0 {
		return []string{sc.Fallback.String()}
	}
	byVerdict := map[profile.Verdict][]string{}
	for _, r := range sc.Rules {
		var cs []string
		for _, c := range r.Conds {
			cs = append(cs, c.String())
		}
		byVerdict[r.Verdict] = append(byVerdict[r.Verdict], strings.Join(cs, " && "))
	}
	var out []string
	for _, v := range slices.SortedFunc(maps.Keys(byVerdict), cmpVerdict) {
		out = append(out, fmt.Sprintf("%s if %s", v, strings.Join(byVerdict[v], " || ")))
	}
	return append(out, "otherwise "+sc.Fallback.String())
}

// describe is describeLines on one line.
func describe(sc *profile.Syscall) string { return strings.Join(describeLines(sc), "; ") }
