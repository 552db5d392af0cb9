# nri-seccomp. `make test` is what CI runs (through .ci/run), `make demo` the
# one-command demo. Root is needed for e2e and demo (containerd, runc).
# Go's install directory, for a root shell on a fresh machine whose PATH lacks it.
export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
BIN     := bin/nri-seccomp
PKGS    := ./...

.PHONY: all deps build image test unit lint verify fuzz e2e soak cluster-test demo bench bench-smoke bench-go workloads workloads-smoke workload-images deploy-check monitoring-check clean

all: build

# What cgo needs (gcc, pkg-config, libseccomp-dev), installed from Debian's
# packages when missing: the README's two commands must work on a fresh machine.
deps:
	@hack/install-build-deps.sh

# Static, with libseccomp linked in: `profile lint` counts BPF instructions and
# `profile test` runs commands under a profile through it.
build: deps
	CGO_ENABLED=1 $(GO) build -trimpath -buildvcs=auto -tags netgo,osusergo -ldflags '-linkmode external -extldflags -static' -o $(BIN) ./cmd/nri-seccomp

# The plugin's OCI image without a Docker daemon: the binary above plus what
# the Dockerfile's final stage copies (same paths, user, entrypoint), as
# bin/nri-seccomp-image-<chart appVersion>.oci.tar named like the chart's
# default image. Reproducible: created and every mtime come from
# SOURCE_DATE_EPOCH or the commit, never the clock. Prints the digest.
image: build
	$(GO) run ./hack/mkimage -binary $(BIN) -out-dir bin -revision "$$(git rev-parse HEAD)" \
		-created "$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct)}"

# vet, formatting, generated files, unit and integration tests with the race
# detector (the libseccomp oracle tests need cgo and libseccomp-dev).
test: lint verify unit

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./test/e2e/...
	$(GO) vet -tags cluster ./test/cluster/...

verify: deps
	hack/verify-generated.sh

unit: deps
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Every go fuzz target for FUZZTIME (default 15s) each, beyond its checked-in
# seed corpus (which `make test` runs).
fuzz: deps
	hack/fuzz.sh

# Real containerd 2.4.2 + runc + crictl (root). install.sh is idempotent and pinned.
# The e2e tests and benchmarks take the node's single audit-daemon slot,
# audit rules and containerd shims: one run at a time per machine (E2E_LOCK).
E2E_LOCK ?= /tmp/e2e.lock

e2e: build
	test/e2e/install.sh
	hack/install-prometheus.sh
	NRI_SECCOMP_BIN=$(CURDIR)/$(BIN) flock $(E2E_LOCK) $(GO) test -tags e2e -count=1 -timeout 30m -v ./test/e2e/...

# Issue 14: thousands of short-lived containers created and removed with
# auditing on; the plugin's state must follow what runs (series back to the
# start, RSS flat). Figures for docs/benchmarks.md ("Churn soak"). Minutes
# (about 20 on this loaded 2-core machine); not part of `make e2e`.
soak: build
	test/e2e/install.sh
	NRI_SECCOMP_BIN=$(CURDIR)/$(BIN) flock $(E2E_LOCK) $(GO) test -tags e2e,soak -count=1 -timeout 90m -v -run TestChurnSoak ./test/e2e/

# Issue 14: a real single-node Kubernetes (etcd, apiserver, controller-manager,
# scheduler, kubelet v1.37.2 from the module proxy, test/cluster/install.sh,
# cache /var/cache/nri-seccomp-k8s) on the private containerd with
# deploy/containerd/nri-seccomp.toml; the project's image installed with Helm,
# then with kustomize (test/cluster/README.md). Same lock as e2e: the private
# containerd, the kubelet's host paths and cgroups.
cluster-test: image
	test/e2e/install.sh
	test/cluster/install.sh
	flock $(E2E_LOCK) $(GO) test -tags cluster -count=1 -timeout 20m -v ./test/cluster/

demo: build
	NRI_SECCOMP_BIN=$(CURDIR)/$(BIN) test/e2e/demo.sh

# Issue 8: every benchmark, side by side, into docs/benchmarks.md (root: real
# containerd, runc and seccomp filters; about 15 minutes on 2 cores).
bench: build
	test/e2e/install.sh
	flock $(E2E_LOCK) $(GO) run ./test/bench -bin $(CURDIR)/$(BIN) -out docs/benchmarks.md -json bin/benchmarks.json

# The same code paths with small counts, for CI: fails only when a section
# cannot measure; times are printed, never asserted.
bench-smoke: build
	flock $(E2E_LOCK) $(GO) run ./test/bench -smoke -bin $(CURDIR)/$(BIN) -out bin/benchmarks-smoke.md

# Issue 15: six real applications (nginx, redis, PostgreSQL, Python, Node.js,
# a JVM program; images built from Debian 12 packages pinned in
# test/workloads/images.lock, cached in /var/cache/nri-seccomp-workloads)
# under every profile and their recorded one, into docs/compatibility.md
# (root; real containerd, runc 1.2.8, auditd).
# Images are built (or found cached) before taking the lock: they need apt,
# not containerd.
# WORKLOADS_CACHE (from the environment too) moves the image cache, e.g. to
# measure a cold build.
WORKLOADS_CACHE ?= /var/cache/nri-seccomp-workloads

workloads: build
	test/e2e/install.sh
	$(GO) run ./test/workloads -cache $(WORKLOADS_CACHE) -images
	flock $(E2E_LOCK) $(GO) run ./test/workloads -cache $(WORKLOADS_CACHE) -bin $(CURDIR)/$(BIN) -out docs/compatibility.md -json bin/workloads.json

# CI's subset: redis and python, A and B under hardened and recorded. Fails
# when the machinery fails or hardened breaks a workload; recorded misses are
# reported (bin/workloads-smoke.md), not failed on.
workloads-smoke: build workload-images
	flock $(E2E_LOCK) $(GO) run ./test/workloads -cache $(WORKLOADS_CACHE) -smoke -bin $(CURDIR)/$(BIN) -out bin/workloads-smoke.md

# The smoke subset's images (redis, python), built or found cached; no
# containerd, no lock (.ci/run builds them in the background).
workload-images:
	$(GO) run ./test/workloads -cache $(WORKLOADS_CACHE) -smoke -images

# The in-process go benchmarks alone (no root).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/engine/ ./internal/policy/ ./internal/audit/...

# Kubernetes manifests, Helm chart, node layout: helm lint, kustomize,
# kubeconform against schemas built offline, containerd config dump.
deploy-check:
	hack/validate-deploy.sh

# deploy/monitoring: promtool check and test rules (Debian's prometheus,
# pinned, installed when root), every alert tested firing and not firing.
monitoring-check:
	hack/check-monitoring.sh

clean:
	rm -rf bin
