package profile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/suggest"
)

// Docker/moby-format profiles select rules by architecture and capability
// with plain string comparisons: a token moby does not use ("x86_64" for
// "amd64") or a misspelt capability never matches, so the rule is dropped or
// kept silently, and a profile that lists ptrace as refused allows it. Every
// such string is checked against the tables below.

// mobyArches are the architecture tokens moby compares includes/excludes
// "arches" against (libseccomp's names, github.com/moby/profiles/seccomp
// nativeToSeccomp), with the OCI architecture each stands for. moby spells
// little-endian MIPS n32 "mips3l64n32"; that is its token, so it is ours.
var mobyArches = map[string]specs.Arch{
	"x86":         specs.ArchX86,
	"amd64":       specs.ArchX86_64,
	"arm":         specs.ArchARM,
	"arm64":       specs.ArchAARCH64,
	"loongarch64": specs.ArchLOONGARCH64,
	"mips64":      specs.ArchMIPS64,
	"mips64n32":   specs.ArchMIPS64N32,
	"mipsel64":    specs.ArchMIPSEL64,
	"mips3l64n32": specs.ArchMIPSEL64N32,
	"mipsel":      specs.ArchMIPSEL,
	"ppc":         specs.ArchPPC,
	"ppc64":       specs.ArchPPC64,
	"ppc64le":     specs.ArchPPC64LE,
	"riscv64":     specs.ArchRISCV64,
	"s390":        specs.ArchS390,
	"s390x":       specs.ArchS390X,
}

// capabilities are the Linux capability names (include/uapi/linux/capability.h,
// through CAP_CHECKPOINT_RESTORE, Linux 5.9), spelt as an OCI spec and moby's
// includes/excludes "caps" spell them.
var capabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// checkDocker reports the Docker/moby-only fields that moby would otherwise
// read silently wrong: archMap architectures, both name and names, both
// architectures and archMap, and includes/excludes arches and caps.
func checkDocker(raw *mobyseccomp.Seccomp) []Problem {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(raw.Architectures) > 0 && len(raw.ArchMap) > 0 {
		add("archMap", "both architectures and archMap are given; use one (moby refuses the profile)")
	}
	for i, am := range raw.ArchMap {
		f := fmt.Sprintf("archMap[%d]", i)
		if !knownArches[am.Arch] {
			add(f+".architecture", "unknown architecture %q%s", am.Arch, suggestArch(am.Arch))
		}
		for j, a := range am.SubArches {
			if !knownArches[a] {
				add(fmt.Sprintf("%s.subArchitectures[%d]", f, j), "unknown architecture %q%s", a, suggestArch(a))
			}
		}
	}
	for i, sc := range raw.Syscalls {
		if sc == nil {
			continue
		}
		f := fmt.Sprintf("syscalls[%d]", i)
		if sc.Name != "" && len(sc.Names) > 0 {
			add(f+".name", "both name and names are given; use one (moby refuses the profile)")
		}
		for _, fl := range []struct {
			key string
			f   *mobyseccomp.Filter
		}{{"includes", sc.Includes}, {"excludes", sc.Excludes}} {
			if fl.f == nil {
				continue
			}
			for j, a := range fl.f.Arches {
				if _, ok := mobyArches[a]; !ok {
					add(fmt.Sprintf("%s.%s.arches[%d]", f, fl.key, j), "unknown architecture %q%s: moby compares Go-style names (%s), so the rule would be %s silently",
						a, suggestMobyArch(a), strings.Join(slices.Sorted(maps.Keys(mobyArches)), ", "), filterEffect(fl.key))
				}
			}
			for j, c := range fl.f.Caps {
				if !slices.Contains(capabilities, c) {
					add(fmt.Sprintf("%s.%s.caps[%d]", f, fl.key, j), "unknown capability %q%s: it never matches, so the rule would be %s silently",
						c, suggestCap(c), filterEffect(fl.key))
				}
			}
		}
	}
	return probs
}

// filterEffect says what a never-matching token does to its rule.
func filterEffect(key string) string {
	if key == "includes" {
		return "dropped"
	}
	return "kept"
}

// suggestMobyArch maps the spellings people use for an architecture
// ("x86_64", "SCMP_ARCH_AARCH64") to moby's token, or else the closest token.
func suggestMobyArch(a string) string {
	up := strings.ToUpper(a)
	for tok, arch := range mobyArches {
		if up == string(arch) || "SCMP_ARCH_"+up == string(arch) {
			return suggest.Hint(tok)
		}
	}
	return suggest.DidYouMean(a, slices.Sorted(maps.Keys(mobyArches)))
}

// suggestArch suggests an OCI architecture ("x86_64" -> "SCMP_ARCH_X86_64").
func suggestArch(a specs.Arch) string {
	if arch, ok := mobyArches[string(a)]; ok {
		return suggest.Hint(string(arch))
	}
	names := make([]string, 0, len(knownArches))
	for k := range knownArches {
		names = append(names, string(k))
	}
	slices.Sort(names)
	if up := "SCMP_ARCH_" + strings.ToUpper(string(a)); slices.Contains(names, up) {
		return suggest.Hint(up)
	}
	return suggest.DidYouMean(string(a), names)
}

// suggestCap suggests a capability: "sys_admin" -> "CAP_SYS_ADMIN".
func suggestCap(c string) string {
	if up := "CAP_" + strings.ToUpper(c); slices.Contains(capabilities, up) {
		return suggest.Hint(up)
	}
	return suggest.DidYouMean(c, capabilities)
}
