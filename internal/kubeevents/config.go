package kubeevents

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
)

// ServiceAccountDir is where the kubelet mounts a pod's service-account
// token, the cluster's CA and the pod's namespace.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ErrConfig marks a configuration that cannot reach the API server.
var ErrConfig = errors.New("kubernetes events configuration")

// maxCredentialSize bounds the token and CA files (a token is about 1 KiB,
// a CA bundle a few).
const maxCredentialSize = 1 << 20

// Server is how to reach the API server.
type Server struct {
	// URL is the API server's base URL, https://host:port.
	URL string
	// TokenFile holds the bearer token. It is read for every request:
	// the kubelet rotates projected service-account tokens in place.
	TokenFile string
	// CAFile holds the PEM CA bundle the server's certificate is checked
	// against.
	CAFile string
}

// InCluster is the pod's own view of the API server: the service-account
// files, and the server from KUBERNETES_SERVICE_HOST/PORT unless apiServer
// (a URL, or host:port) overrides it. The override is for clusters where
// the kubernetes Service does not lead anywhere from a host-network pod (no
// kube-proxy): give the API server's address on the node instead.
func InCluster(apiServer string) (Server, error) {
	s := Server{
		TokenFile: ServiceAccountDir + "/token",
		CAFile:    ServiceAccountDir + "/ca.crt",
	}
	if apiServer == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			return s, fmt.Errorf("%w: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod?); name the API server with --kube-api-server", ErrConfig)
		}
		apiServer = "https://" + net.JoinHostPort(host, port)
	}
	u, err := parseServer(apiServer)
	if err != nil {
		return s, err
	}
	s.URL = u
	return s, nil
}

// parseServer accepts https://host[:port] (no path, query or user) or a bare
// host:port, and returns the URL without a trailing slash.
func parseServer(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: API server %q: %w", ErrConfig, s, err)
	}
	switch {
	case u.Scheme != "https":
		return "", fmt.Errorf("%w: API server %q: scheme %q, want https (the token must not travel in clear)", ErrConfig, s, u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%w: API server %q: no host", ErrConfig, s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%w: API server %q: want https://host:port and nothing else", ErrConfig, s)
	}
	return "https://" + u.Host, nil
}

// httpClient checks s's CA file now, so that a bad mount stops the start
// rather than every event later.
func (s Server) httpClient() (*http.Client, error) {
	pem, err := boundedio.ReadFile(s.CAFile, maxCredentialSize)
	if err != nil {
		return nil, fmt.Errorf("%w: CA: %w", ErrConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: CA %s: no PEM certificate in it", ErrConfig, s.CAFile)
	}
	if _, err := s.token(); err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConns:        1,
			IdleConnTimeout:     90 * time.Second,
			// Never a proxy from the environment: the token is for the
			// API server only.
			Proxy: nil,
		},
	}, nil
}

// token reads the bearer token.
func (s Server) token() (string, error) {
	b, err := boundedio.ReadFile(s.TokenFile, maxCredentialSize)
	if err != nil {
		return "", fmt.Errorf("%w: token: %w", ErrConfig, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" || strings.ContainsAny(t, " \t\r\n") {
		return "", fmt.Errorf("%w: token %s: empty or not one word", ErrConfig, s.TokenFile)
	}
	return t, nil
}
