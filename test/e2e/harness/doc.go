// Package harness runs a private, real containerd (CRI + NRI) with runc and
// drives it through crictl the way kubelet would, so end-to-end tests and the
// demo can show what a seccomp profile does inside a real container.
//
// Everything a run creates lives under one temporary directory (containerd
// root and state, sockets, NRI socket, config, logs), plus a cgroup parent
// named after that directory; teardown removes pods, stops containerd and the
// shims it started (found by their -address argument, never by name), kills
// processes left in that cgroup parent, and unmounts what is still mounted
// below the directory. Nothing else on the machine is touched.
//
// The binaries come from test/e2e/install.sh (cache dir $E2E_CACHE, default
// /var/cache/nri-seccomp-e2e). No registry is reachable, so the images (a
// busybox image carrying syscall-probe, and a pause image) are built locally
// as OCI archives and imported with ctr.
package harness
