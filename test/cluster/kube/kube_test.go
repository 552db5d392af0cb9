package kube

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestPodLogJoinsRestartsAndPartialLines(t *testing.T) {
	c := &Cluster{PodLogsDir: t.TempDir()}
	dir := filepath.Join(c.PodLogsDir, "ns_pod_0a1b", "ctr")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		// Restart 10 sorts after 2 as a number, not as a string.
		"10.log": "2026-12-03T12:00:03.000000000Z stdout F third\n",
		"2.log": "2026-12-03T12:00:01.000000000Z stderr P first, \n" +
			"2026-12-03T12:00:01.100000000Z stderr F continued\n" +
			"2026-12-03T12:00:02.000000000Z stdout F second with  two spaces\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.PodLog("ns", "pod", "ctr")
	if err != nil {
		t.Fatal(err)
	}
	want := "first, continued\nsecond with  two spaces\nthird\n"
	if got != want {
		t.Errorf("PodLog = %q, want %q", got, want)
	}
	if _, err := c.PodLog("ns", "other", "ctr"); err == nil {
		t.Error("PodLog of a pod with no log directory: no error")
	}
}

func TestPKIChainsAndUsages(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	crt, _, err := p.issue(certSpec{Name: "srv", CN: "kube-apiserver", Server: true, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	cli, _, err := p.issue(certSpec{Name: "cli", CN: "system:node:n", Orgs: []string{"system:nodes"}})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	load := func(path string) *x509.Certificate {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := load(crt).Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	c := load(cli)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a client certificate verifies as a server's")
	}
	if c.Subject.CommonName != "system:node:n" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject %v", c.Subject)
	}
}

func TestRestoreSysctlsRefusesBadLines(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sysctls.saved"), []byte("../../etc/passwd x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := restoreSysctls(dir); err == nil {
		t.Error("a path with .. restored")
	}
	if err := restoreSysctls(t.TempDir()); err != nil {
		t.Errorf("no saved file (kubelet never started): %v", err)
	}
}
