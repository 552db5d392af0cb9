// Command rbaccheck checks the API access a rendered install grants the
// plugin, for hack/validate-deploy.sh:
//
//	go run ./deploy/validate/rbaccheck MANIFESTS none
//	go run ./deploy/validate/rbaccheck MANIFESTS events
//
// none: no Role, ClusterRole or binding, no service-account token mounted
// into the DaemonSet's pods, no --kube-* flag (the default install never
// talks to the API server). events: exactly one ClusterRole whose only rule is
// create and patch on core events, bound to the DaemonSet's service account
// and nothing else, the token mounted and --kube-events given.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	if len(os.Args) != 3 || (os.Args[2] != "none" && os.Args[2] != "events") {
		fmt.Fprintln(os.Stderr, "usage: rbaccheck MANIFESTS none|events")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	problems, err := check(f, os.Args[2] == "events")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Printf("%s: %s\n", os.Args[1], p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Rules    []rule    `yaml:"rules"`
	RoleRef  roleRef   `yaml:"roleRef"`
	Subjects []subject `yaml:"subjects"`
	Spec     struct {
		Template struct {
			Spec struct {
				ServiceAccountName string `yaml:"serviceAccountName"`
				Automount          *bool  `yaml:"automountServiceAccountToken"`
				Containers         []struct {
					Args []string `yaml:"args"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type rule struct {
	APIGroups     []string `yaml:"apiGroups"`
	Resources     []string `yaml:"resources"`
	Verbs         []string `yaml:"verbs"`
	ResourceNames []string `yaml:"resourceNames"`
	URLs          []string `yaml:"nonResourceURLs"`
}

type roleRef struct{ Kind, Name string }

type subject struct{ Kind, Name, Namespace string }

// eventsRule is the only rule the events install may grant.
var eventsRule = rule{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}}

// check reads the manifests and returns what breaks the promise.
func check(r io.Reader, events bool) ([]string, error) {
	var (
		roles, bindings []object
		ds              *object
		problems        []string
	)
	dec := yaml.NewDecoder(r)
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch o.Kind {
		case "Role", "ClusterRole":
			roles = append(roles, o)
		case "RoleBinding", "ClusterRoleBinding":
			bindings = append(bindings, o)
		case "DaemonSet":
			if ds != nil {
				return nil, errors.New("more than one DaemonSet")
			}
			ds = &o
		}
	}
	if ds == nil {
		return nil, errors.New("no DaemonSet")
	}
	pod := ds.Spec.Template.Spec
	var args []string
	for _, c := range pod.Containers {
		args = append(args, c.Args...)
	}
	kubeFlags := []string{}
	for _, a := range args {
		if strings.HasPrefix(a, "--kube-") {
			kubeFlags = append(kubeFlags, a)
		}
	}
	mounted := pod.Automount == nil || *pod.Automount

	if !events {
		for _, o := range append(roles, bindings...) {
			problems = append(problems, fmt.Sprintf("%s %s in the default install", o.Kind, o.Metadata.Name))
		}
		if mounted {
			problems = append(problems, "the service-account token is mounted (automountServiceAccountToken is not false)")
		}
		if len(kubeFlags) > 0 {
			problems = append(problems, fmt.Sprintf("API flags in the default install: %v", kubeFlags))
		}
		return problems, nil
	}

	if len(roles) != 1 || roles[0].Kind != "ClusterRole" {
		problems = append(problems, fmt.Sprintf("want exactly one ClusterRole, have %d roles", len(roles)))
	}
	for _, o := range roles {
		if len(o.Rules) != 1 || !reflect.DeepEqual(o.Rules[0], eventsRule) {
			problems = append(problems, fmt.Sprintf("%s %s grants %+v, want only %+v", o.Kind, o.Metadata.Name, o.Rules, eventsRule))
		}
	}
	if len(bindings) != 1 || bindings[0].Kind != "ClusterRoleBinding" {
		problems = append(problems, fmt.Sprintf("want exactly one ClusterRoleBinding, have %d bindings", len(bindings)))
	}
	want := []subject{{Kind: "ServiceAccount", Name: pod.ServiceAccountName, Namespace: ds.Metadata.Namespace}}
	for _, o := range bindings {
		if len(roles) == 1 && (o.RoleRef.Kind != roles[0].Kind || o.RoleRef.Name != roles[0].Metadata.Name) {
			problems = append(problems, fmt.Sprintf("%s %s binds %s %s, not the events role", o.Kind, o.Metadata.Name, o.RoleRef.Kind, o.RoleRef.Name))
		}
		if !reflect.DeepEqual(o.Subjects, want) {
			problems = append(problems, fmt.Sprintf("%s %s binds %+v, want only the DaemonSet's service account %+v", o.Kind, o.Metadata.Name, o.Subjects, want))
		}
	}
	if !mounted {
		problems = append(problems, "the service-account token is not mounted")
	}
	if len(kubeFlags) == 0 || kubeFlags[0] != "--kube-events" {
		problems = append(problems, fmt.Sprintf("want --kube-events among the args, have %v", kubeFlags))
	}
	return problems, nil
}
