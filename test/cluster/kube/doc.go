// Package kube runs a real single-node Kubernetes cluster for the cluster
// test (test/cluster, build tag cluster, `make cluster-test`): etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and a kubelet on
// the e2e harness's private containerd, configured with the project's
// containerd drop-in (deploy/containerd/nri-seccomp.toml) as shipped plus
// one override file that moves NRI's socket and plugin directories into the
// run's own directory.
//
// Binaries come from test/cluster/install.sh ($K8S_CACHE, default
// /var/cache/nri-seccomp-k8s) and test/e2e/install.sh. Everything a run
// creates lives under one /tmp/e2e-ctrd-k8s-* directory (PKI, etcd data,
// kubelet root, pod logs, CNI state, NRI socket); the name matches the e2e
// harness's stale-instance pattern, so either suite cleans up after a killed
// run of the other. What the kubelet touches outside it, and Stop undoes:
// three sysctls it rewrites (saved first, restored after), its cgroup root
// (the harness's cgroup parent, removed with the containerd instance),
// /var/log/containers symlinks, the CNI bridge interface and network
// namespaces (removed by containerd with the pods).
//
// The node's kubelet and containerd use fixed host paths in a few places
// (/var/log/containers, /run/netns), and the CNI bridge has a fixed name, so
// one cluster runs per machine: callers hold the e2e lock (/tmp/e2e.lock).
package kube
