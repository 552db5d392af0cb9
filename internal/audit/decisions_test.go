package audit

import (
	"reflect"
	"strings"
	"testing"
)

// Decisions gives the last decision per container, with the exempt flag,
// digest and policy revision;
// error lines (a refused creation) and "started" lines are no decision.
func TestDecisions(t *testing.T) {
	log := `{"namespace":"shop","pod":"web","container":"app","container_id":"c1","rules":["old"],"mode":"audit","exempt":false,"digest":"sha256:old","policy_revision":"r1"}
{"namespace":"shop","pod":"web","container":"app","container_id":"c1","rules":["team"],"mode":"enforce","exempt":false,"digest":"sha256:new","policy_revision":"r2"}
{"namespace":"kube-system","pod":"agent","container":"a","container_id":"c2","rules":["trusted"],"exempt":true}
{"event":"started","container_id":"c2","pid":42}
{"namespace":"shop","pod":"bad","container":"b","container_id":"c3","error":"no profile"}
`
	d, err := ReadDecisionLog("d.jsonl", strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for id, dec := range d.Decisions() {
		got[id] = strings.Join([]string{dec.Namespace, dec.Pod, dec.Name, strings.Join(dec.Rules, ","), dec.Mode, map[bool]string{true: "exempt"}[dec.Exempt], dec.Digest, dec.PolicyRevision}, "|")
	}
	want := map[string]string{
		"c1": "shop|web|app|team|enforce||sha256:new|r2",
		"c2": "kube-system|agent|a|trusted||exempt||",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decisions = %v, want %v", got, want)
	}
}
