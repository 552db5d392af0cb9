package profiletool

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

func TestConvertRoundTrip(t *testing.T) {
	for _, name := range []string{"runtime-default", "hardened", "minimal"} {
		b, _ := Builtin(name)
		if f, err := DetectFormat(b); err != nil || f != FormatOCI {
			t.Fatalf("%s: format %q, %v", name, f, err)
		}
		docker, err := Convert(b, FormatDocker, specs.ArchX86_64)
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := DetectFormat(docker); f != FormatDocker || !strings.Contains(string(docker), `"archMap"`) {
			t.Fatalf("%s: docker output is not Docker format:\n%s", name, docker)
		}
		oci, err := Convert(docker, FormatOCI, specs.ArchX86_64)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := profile.Parse(b)
		c, err := profile.Parse(oci)
		if err != nil {
			t.Fatal(err)
		}
		pa, _ := profile.FromSpec(a, specs.ArchX86_64)
		pc, _ := profile.FromSpec(c, specs.ArchX86_64)
		if !profile.Equal(pa, pc) {
			t.Errorf("%s: OCI -> Docker -> OCI changed the behaviour", name)
		}
	}
}

// TestConvertDockerIncludes: Docker-format rules that depend on capabilities
// resolve for CRI's default set (CAP_SYS_ADMIN is not in it).
func TestConvertDockerIncludes(t *testing.T) {
	doc := `{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
	  "syscalls": [
	    {"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "always"},
	    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
	    {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}}]}`
	out, err := Convert([]byte(doc), FormatOCI, specs.ArchX86_64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := profile.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sc := range s.Syscalls {
		names = append(names, sc.Names...)
	}
	if strings.Join(names, ",") != "read,chroot" || len(s.Architectures) != 2 {
		t.Fatalf("resolved to %v on %v; want read, chroot on x86_64+x86", names, s.Architectures)
	}
}

func TestConvertErrors(t *testing.T) {
	if _, err := Convert([]byte(`{"defaultAction": "SCMP_ACT_ALLOW"}`), "yaml", specs.ArchX86_64); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Convert([]byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_ERRNO"}]}`), FormatOCI, specs.ArchX86_64); !errors.Is(err, profile.ErrInvalidProfile) || !strings.Contains(err.Error(), "mkdri") {
		t.Errorf("bad profile: %v", err)
	}
	if _, err := DetectFormat([]byte(`[`)); !errors.Is(err, profile.ErrInvalidProfile) {
		t.Errorf("not JSON: %v", err)
	}
}

func TestLoad(t *testing.T) {
	for _, name := range BuiltinNames() {
		src, err := Load(name)
		if err != nil || !src.Builtin || src.Spec == nil {
			t.Errorf("Load(%q) = %+v, %v", name, src, err)
		}
	}
	if src, err := Load("testdata/messy.json"); err != nil || src.Builtin {
		t.Errorf("file: %+v, %v", src, err)
	}
	_, err := Load("hardend")
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "hardened, minimal, runtime-default, unconfined") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Load("testdata/nope.json"); !errors.Is(err, profile.ErrInvalidProfile) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load("testdata/golden/show-messy.txt"); !errors.Is(err, profile.ErrInvalidProfile) {
		t.Errorf("not a profile: %v", err)
	}
}

func TestParseArch(t *testing.T) {
	for in, want := range map[string]specs.Arch{
		"x86_64": specs.ArchX86_64, "amd64": specs.ArchX86_64, "SCMP_ARCH_X32": specs.ArchX32,
		"i386": specs.ArchX86, "arm64": specs.ArchAARCH64,
	} {
		if got, err := ParseArch(in); err != nil || got != want {
			t.Errorf("ParseArch(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseArch("sparc"); !errors.Is(err, ErrUsage) {
		t.Errorf("sparc: %v", err)
	}
}
