// Command dsrights prints what the DaemonSet in rendered manifests is
// granted on the node, one fact a line, so that hack/validate-deploy.sh
// can compare a variant's rights with exactly what it is meant to have
// (and the default with none of auditing's): host namespaces, privilege,
// capabilities, host paths and their mounts, and the --audit and --posture flags.
//
//	go run ./deploy/validate/dsrights < rendered.yaml
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	lines, err := rights(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dsrights:", err)
		os.Exit(1)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
}

type obj = map[string]any

// rights reads YAML documents from r and describes the one DaemonSet.
func rights(r io.Reader) ([]string, error) {
	dec := yaml.NewDecoder(r)
	var ds obj
	for {
		var doc obj
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if doc["kind"] == "DaemonSet" {
			if ds != nil {
				return nil, errors.New("more than one DaemonSet")
			}
			ds = doc
		}
	}
	if ds == nil {
		return nil, errors.New("no DaemonSet")
	}
	pod := get(ds, "spec", "template", "spec")
	ctrs, _ := pod["containers"].([]any)
	if len(ctrs) != 1 {
		return nil, fmt.Errorf("%d containers, want 1", len(ctrs))
	}
	ctr := ctrs[0].(obj)
	sc := get(ctr, "securityContext")
	out := []string{
		fmt.Sprintf("hostNetwork=%v", pod["hostNetwork"] == true),
		fmt.Sprintf("hostPID=%v", pod["hostPID"] == true),
		fmt.Sprintf("hostIPC=%v", pod["hostIPC"] == true),
		fmt.Sprintf("privileged=%v", sc["privileged"] == true),
		fmt.Sprintf("allowPrivilegeEscalation=%v", sc["allowPrivilegeEscalation"] != false),
		"capabilities.add=" + list(get(sc, "capabilities")["add"]),
		"capabilities.drop=" + list(get(sc, "capabilities")["drop"]),
	}
	mounts := map[string]string{}
	for _, m := range asList(ctr["volumeMounts"]) {
		mo := m.(obj)
		ro := "rw"
		if mo["readOnly"] == true {
			ro = "ro"
		}
		mounts[fmt.Sprint(mo["name"])] = fmt.Sprintf("%v:%s", mo["mountPath"], ro)
	}
	var paths []string
	for _, v := range asList(pod["volumes"]) {
		vo := v.(obj)
		hp := get(vo, "hostPath")
		if len(hp) == 0 {
			continue
		}
		paths = append(paths, fmt.Sprintf("hostPath=%v(%v) at %s", hp["path"], hp["type"], mounts[fmt.Sprint(vo["name"])]))
	}
	slices.Sort(paths)
	out = append(out, paths...)
	for _, a := range asList(ctr["args"]) {
		if s := fmt.Sprint(a); strings.HasPrefix(s, "--audit") || strings.HasPrefix(s, "--posture") {
			out = append(out, "arg="+s)
		}
	}
	return out, nil
}

func get(o obj, path ...string) obj {
	for _, p := range path {
		next, _ := o[p].(obj)
		if next == nil {
			return obj{}
		}
		o = next
	}
	return o
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func list(v any) string {
	var s []string
	for _, x := range asList(v) {
		s = append(s, fmt.Sprint(x))
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}
