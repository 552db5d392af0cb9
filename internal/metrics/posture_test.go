package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestPostureGauges(t *testing.T) {
	m := New()
	url := serve(t, m)
	m.PostureScanned(map[string]int{"decided": 3, "filtered_otherwise": 1, "exempt": 0, "unfiltered": 2}, 1, 140, 25*time.Millisecond)
	m.PostureScanFailed()
	_, body := get(t, url+"/metrics")
	for _, want := range []string{
		`nri_seccomp_containers{state="decided"} 3`,
		`nri_seccomp_containers{state="filtered_otherwise"} 1`,
		`nri_seccomp_containers{state="exempt"} 0`,
		`nri_seccomp_containers{state="unfiltered"} 2`,
		`nri_seccomp_posture_problem_containers 1`,
		`nri_seccomp_posture_host_processes 140`,
		`nri_seccomp_posture_scans_total{result="success"} 1`,
		`nri_seccomp_posture_scans_total{result="failure"} 1`,
		`nri_seccomp_posture_scan_duration_seconds 0.025`,
		`nri_seccomp_posture_last_scan_timestamp_seconds `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var nilM *Metrics // a daemon without --metrics-addr
	nilM.PostureScanned(map[string]int{"decided": 1}, 0, 0, 0)
	nilM.PostureScanFailed()
}
