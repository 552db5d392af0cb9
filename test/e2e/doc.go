// Package e2e holds the end-to-end tests of nri-seccomp against a real
// containerd 2.4.2, real runc and the real kernel. They are behind the `e2e`
// build tag because they need root and the tools test/e2e/install.sh puts in
// its cache:
//
//	sudo test/e2e/install.sh
//	make build   # bin/nri-seccomp
//	NRI_SECCOMP_BIN=$PWD/bin/nri-seccomp go test -tags e2e ./test/e2e/... -v
//
// Each test starts its own private containerd (see package harness), runs
// pods through CRI with crictl and asserts, with syscall-probe inside the
// container, what the kernel answered.
package e2e
