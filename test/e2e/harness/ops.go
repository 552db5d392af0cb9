package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Signal sends s to the running plugin (SIGHUP: reload its policy).
func (p *Plugin) Signal(s syscall.Signal) error { return p.signal(s) }

// LogCount is the number of lines of the plugin's log containing substr.
func (p *Plugin) LogCount(substr string) int { return countLines(p.LogPath, substr) }

// WaitLog waits until the plugin's log has more than `before` lines
// containing substr.
func (p *Plugin) WaitLog(ctx context.Context, substr string, before int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for p.LogCount(substr) <= before {
		if time.Now().After(deadline) {
			return fmt.Errorf("no new %q in the plugin log after %s; tail:\n%s", substr, limit, p.LogTail(20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// FreeAddr returns a loopback host:port that was free a moment ago, for the
// plugin's --metrics-addr.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// HTTPGet fetches url and returns the status code and body.
func HTTPGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	return rsp.StatusCode, string(b), err
}

func countLines(path, substr string) int {
	n := 0
	for _, l := range strings.Split(tail(path, 1<<20), "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
