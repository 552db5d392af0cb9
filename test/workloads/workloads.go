package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/workloads/images"
)

// Workload is one application with its two exercises. A is what the
// recording learns from; B is held apart: other requests, a reload
// signal, log rotation, a burst of connections, a restart.
type Workload struct {
	Name  string
	Image string
	// Command runs the application listening on 127.0.0.1:port.
	Command func(port int) []string
	// A and B describe the exercises in the report.
	ADoc, BDoc string
	A, B       func(ctx context.Context, e *env) error
	// Ready, when set, waits past an open port until the server answers
	// (PostgreSQL accepts connections while it is still starting up).
	Ready func(ctx context.Context, e *env) error
}

// env is what an exercise can use: the port, the image's root filesystem
// on the host (clients run from it with chroot, outside any filter), and
// the running container (its host PID for signals, a restart).
type env struct {
	port    int
	rootfs  string
	pid     func() (int, error)
	restart func(ctx context.Context) error
}

func (e *env) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", e.port, path) }

// signal sends sig to the container's main process from the host.
func (e *env) signal(sig syscall.Signal) error {
	pid, err := e.pid()
	if err != nil {
		return err
	}
	return syscall.Kill(pid, sig)
}

// inRoot is a path inside the running container's root, seen from the host.
func (e *env) inRoot(path string) (string, error) {
	pid, err := e.pid()
	if err != nil {
		return "", err
	}
	return filepath.Join(fmt.Sprintf("/proc/%d/root", pid), path), nil
}

// client runs a program of the image's root filesystem on the host
// (chroot, no seccomp filter: only the server is under test).
func (e *env) client(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chroot", append([]string{e.rootfs}, args...)...)
	cmd.Env = []string{"PATH=/usr/lib/postgresql/15/bin:/usr/bin:/bin", "LANG=C", "HOME=/tmp", "PGUSER=postgres"}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// get expects a 2xx answer whose body contains want.
func (e *env) request(ctx context.Context, method, path, body, want string) error {
	req, err := http.NewRequestWithContext(ctx, method, e.url(path), strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 || !strings.Contains(string(b), want) {
		return fmt.Errorf("%s %s: %d %q", method, path, resp.StatusCode, truncate(string(b), 200))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// parallel runs f(i) for i in [0,n) on `workers` goroutines; first error wins.
func parallel(n, workers int, f func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d failed, first: %w", len(errs), n, errs[0])
	}
	return nil
}

// burst opens n connections at once, each with one request and no reuse.
func (e *env) burst(ctx context.Context, n int, path, want string) error {
	tr := &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return parallel(n, n, func(int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url(path), nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			return fmt.Errorf("burst %s: %d", path, resp.StatusCode)
		}
		return nil
	})
}

// rotate renames a log file inside the container and signals the process to
// reopen it, then checks that the file was written anew after a request.
func (e *env) rotate(ctx context.Context, logPath string, sig syscall.Signal, poke func() error) error {
	p, err := e.inRoot(logPath)
	if err != nil {
		return err
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", logPath, err)
	}
	if err := e.signal(sig); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := poke(); err != nil {
			return err
		}
		if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not reopened after %s", logPath, sig)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitPort waits until something accepts connections on the port.
func waitPort(ctx context.Context, port int, limit time.Duration, alive func() error) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if err := alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d after %s", port, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errSkip = errors.New("skipped")

// Workloads are the six applications.
func Workloads() []Workload {
	return []Workload{
		{
			Name: "nginx", Image: images.Nginx,
			Command: func(port int) []string {
				return []string{"/bin/sh", "-c", `echo "listen 127.0.0.1:$1;" > /run/nginx-listen.conf && exec nginx -c /etc/nginx/workload.conf`, "sh", strconv.Itoa(port)}
			},
			ADoc: "400 keep-alive GETs from 4 clients: a page, gzip'd JSON, a 404, a `return` location",
			A: func(ctx context.Context, e *env) error {
				return parallel(400, 4, func(i int) error {
					switch i % 4 {
					case 0:
						return e.request(ctx, "GET", "/", "", "workload")
					case 1:
						return e.request(ctx, "GET", "/data.json", "", "value")
					case 2:
						err := e.request(ctx, "GET", "/missing", "", "")
						if err != nil && strings.Contains(err.Error(), ": 404 ") {
							return nil
						}
						return fmt.Errorf("want 404, got %v", err)
					default:
						return e.request(ctx, "GET", "/echo?x="+strconv.Itoa(i), "", "echo")
					}
				})
			},
			BDoc: "a 1 MiB file 20 times, a burst of 200 connections, `SIGHUP` reload (new workers), log rotation (rename + `SIGUSR1`), a restart",
			B: func(ctx context.Context, e *env) error {
				if err := parallel(20, 4, func(int) error { return e.request(ctx, "GET", "/big.bin", "", "0123") }); err != nil {
					return err
				}
				if err := e.burst(ctx, 200, "/", "workload"); err != nil {
					return err
				}
				if err := e.signal(syscall.SIGHUP); err != nil {
					return err
				}
				time.Sleep(time.Second) // the old workers finish, new ones start
				if err := parallel(40, 4, func(int) error { return e.request(ctx, "GET", "/", "", "workload") }); err != nil {
					return err
				}
				if err := e.rotate(ctx, "/var/log/nginx/access.log", syscall.SIGUSR1, func() error { return e.request(ctx, "GET", "/", "", "workload") }); err != nil {
					return err
				}
				if err := e.restart(ctx); err != nil {
					return err
				}
				return e.request(ctx, "GET", "/data.json", "", "value")
			},
		},
		{
			Name: "redis", Image: images.Redis,
			Command: func(port int) []string {
				return []string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", "/tmp",
					"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"}
			},
			ADoc: "`redis-benchmark -t set,get,incr,lpush,lpop -n 2000 -c 10`, `redis-cli ping`",
			A: func(ctx context.Context, e *env) error {
				p := strconv.Itoa(e.port)
				if out, err := e.client(ctx, "redis-cli", "-p", p, "ping"); err != nil || !strings.Contains(out, "PONG") {
					return fmt.Errorf("ping: %v %q", err, out)
				}
				_, err := e.client(ctx, "redis-benchmark", "-p", p, "-q", "-n", "2000", "-c", "10", "-t", "set,get,incr,lpush,lpop")
				return err
			},
			BDoc: "`redis-benchmark -t hset,sadd,zadd,lrange_100,mset -c 50 -P 8` (a burst of pipelined connections), `BGSAVE` (fork, RDB file), `CONFIG SET`, `INFO`, a restart",
			B: func(ctx context.Context, e *env) error {
				p := strconv.Itoa(e.port)
				if _, err := e.client(ctx, "redis-benchmark", "-p", p, "-q", "-n", "5000", "-c", "50", "-P", "8", "-t", "hset,sadd,zadd,lrange_100,mset"); err != nil {
					return err
				}
				before, err := e.client(ctx, "redis-cli", "-p", p, "lastsave")
				if err != nil {
					return err
				}
				if out, err := e.client(ctx, "redis-cli", "-p", p, "bgsave"); err != nil || !strings.Contains(out, "started") {
					return fmt.Errorf("bgsave: %v %q", err, out)
				}
				deadline := time.Now().Add(30 * time.Second)
				for {
					time.Sleep(300 * time.Millisecond)
					out, err := e.client(ctx, "redis-cli", "-p", p, "info", "persistence")
					if err != nil {
						return err
					}
					if strings.Contains(out, "rdb_bgsave_in_progress:0") && strings.Contains(out, "rdb_last_bgsave_status:ok") {
						after, _ := e.client(ctx, "redis-cli", "-p", p, "lastsave")
						if after != before || time.Now().After(deadline) {
							break
						}
					}
					if strings.Contains(out, "rdb_last_bgsave_status:err") {
						return fmt.Errorf("bgsave failed: %s", lastLines(out, 3))
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("bgsave did not finish: %s", lastLines(out, 5))
					}
				}
				if out, err := e.client(ctx, "redis-cli", "-p", p, "config", "set", "maxmemory", "64mb"); err != nil || !strings.Contains(out, "OK") {
					return fmt.Errorf("config set: %v %q", err, out)
				}
				if err := e.restart(ctx); err != nil {
					return err
				}
				if out, err := e.client(ctx, "redis-cli", "-p", p, "info"); err != nil || !strings.Contains(out, "redis_version") {
					return fmt.Errorf("info after restart: %v", err)
				}
				return nil
			},
		},
		{
			Name: "postgres", Image: images.Postgres,
			Command: func(port int) []string {
				return []string{"/bin/sh", "-c", `initdb -D /tmp/pg -A trust -U postgres -E UTF8 --no-locale >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }
exec postgres -D /tmp/pg -p "$1" -k /tmp -c listen_addresses=127.0.0.1 -c work_mem=64kB`, "sh", strconv.Itoa(port)}
			},
			Ready: func(ctx context.Context, e *env) error {
				deadline := time.Now().Add(60 * time.Second)
				for {
					out, err := e.client(ctx, "pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(e.port))
					if err == nil {
						return nil
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("pg_isready: %v %s", err, lastLines(out, 2))
					}
					time.Sleep(200 * time.Millisecond)
				}
			},
			ADoc: "`pgbench -i -s 2` (COPY, indexes, VACUUM), `pgbench -c 4 -j 2 -t 200` (TPC-B-like, persistent connections)",
			A: func(ctx context.Context, e *env) error {
				p := strconv.Itoa(e.port)
				if _, err := e.client(ctx, "pgbench", "-h", "127.0.0.1", "-p", p, "-i", "-s", "2", "postgres"); err != nil {
					return err
				}
				_, err := e.client(ctx, "pgbench", "-h", "127.0.0.1", "-p", p, "-c", "4", "-j", "2", "-t", "200", "postgres")
				return err
			},
			BDoc: "`pgbench -C -c 8 -t 30` (a new connection per transaction), `psql`: index build, a sort spilling to temp files, `CHECKPOINT`, `pg_reload_conf()` (SIGHUP), `ANALYZE`; a restart (fresh initdb)",
			B: func(ctx context.Context, e *env) error {
				p := strconv.Itoa(e.port)
				if _, err := e.client(ctx, "pgbench", "-h", "127.0.0.1", "-p", p, "-i", "-s", "1", "postgres"); err != nil {
					return err
				}
				if _, err := e.client(ctx, "pgbench", "-h", "127.0.0.1", "-p", p, "-C", "-c", "8", "-j", "2", "-t", "30", "postgres"); err != nil {
					return err
				}
				sql := `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 200000) g;
CREATE INDEX t_h ON t (h);
SELECT count(*) FROM (SELECT h FROM t ORDER BY h DESC) s;
ANALYZE t;
CHECKPOINT;
SELECT pg_reload_conf();
DROP TABLE t;`
				if out, err := e.client(ctx, "psql", "-h", "127.0.0.1", "-p", p, "-v", "ON_ERROR_STOP=1", "-c", sql, "postgres"); err != nil {
					return fmt.Errorf("psql: %w %s", err, lastLines(out, 3))
				}
				if err := e.restart(ctx); err != nil {
					return err
				}
				out, err := e.client(ctx, "psql", "-h", "127.0.0.1", "-p", p, "-At", "-c", "SELECT 1+1", "postgres")
				if err != nil || !strings.Contains(out, "2") {
					return fmt.Errorf("psql after restart: %v %q", err, out)
				}
				return nil
			},
		},
		{
			Name: "python", Image: images.Python,
			Command: func(port int) []string {
				return []string{"python3", "/app/app.py", strconv.Itoa(port)}
			},
			ADoc: "100 inserts and reads from 8 threads (sqlite3 in WAL mode), `/report`, subprocesses: `sh -c` and a second interpreter",
			A: func(ctx context.Context, e *env) error {
				if err := parallel(100, 8, func(i int) error {
					if i%2 == 0 {
						return e.request(ctx, "POST", "/items", fmt.Sprintf(`{"name":"n%d","qty":%d}`, i, i), "id")
					}
					return e.request(ctx, "GET", "/items?limit=20", "", "[")
				}); err != nil {
					return err
				}
				for _, p := range []string{"/report", "/shell?n=21", "/python?n=100"} {
					if err := e.request(ctx, "GET", p, "", "{"); err != nil {
						return err
					}
				}
				return nil
			},
			BDoc: "`/export` (write, fsync, rename), `VACUUM`, a burst of 100 connections, log rotation (rename + `SIGHUP`), a restart",
			B: func(ctx context.Context, e *env) error {
				if err := e.request(ctx, "POST", "/items", `{"name":"b","qty":1}`, "id"); err != nil {
					return err
				}
				if err := e.request(ctx, "POST", "/export", `{}`, "rows"); err != nil {
					return err
				}
				if err := e.request(ctx, "GET", "/vacuum", "", "vacuumed"); err != nil {
					return err
				}
				if err := e.burst(ctx, 100, "/healthz", "ok"); err != nil {
					return err
				}
				if err := e.rotate(ctx, "/tmp/app.log", syscall.SIGHUP, func() error { return e.request(ctx, "GET", "/healthz", "", "ok") }); err != nil {
					return err
				}
				if err := e.restart(ctx); err != nil {
					return err
				}
				return e.request(ctx, "GET", "/report", "", "count")
			},
		},
		{
			Name: "node", Image: images.Node,
			Command: func(port int) []string {
				return []string{"node", "/app/server.js", strconv.Itoa(port)}
			},
			ADoc: "200 requests from 4 clients: key-value writes and reads, PBKDF2 and gzip on libuv's thread pool",
			A: func(ctx context.Context, e *env) error {
				return parallel(200, 4, func(i int) error {
					switch i % 4 {
					case 0:
						return e.request(ctx, "POST", "/kv", fmt.Sprintf(`{"key":"k%d","value":%d}`, i, i), "size")
					case 1:
						return e.request(ctx, "GET", "/kv?key=k0", "", "value")
					case 2:
						return e.request(ctx, "GET", "/hash?n=2000", "", "hash")
					default:
						return e.request(ctx, "GET", "/gzip?n=50000", "", "out")
					}
				})
			},
			BDoc: "`/file` (write, read, unlink), a burst of 100 connections, log rotation (rename + `SIGHUP`), a restart",
			B: func(ctx context.Context, e *env) error {
				if err := parallel(20, 4, func(int) error { return e.request(ctx, "POST", "/file", "some text", "bytes") }); err != nil {
					return err
				}
				if err := e.burst(ctx, 100, "/healthz", "ok"); err != nil {
					return err
				}
				if err := e.rotate(ctx, "/tmp/node.log", syscall.SIGHUP, func() error { return e.request(ctx, "GET", "/healthz", "", "ok") }); err != nil {
					return err
				}
				if err := e.restart(ctx); err != nil {
					return err
				}
				return e.request(ctx, "GET", "/hash?n=10", "", "hash")
			},
		},
		{
			Name: "jvm", Image: images.JVM,
			Command: func(port int) []string {
				return []string{"java", "-Xmx256m", "-cp", "/app", "App", strconv.Itoa(port)}
			},
			ADoc: "200 requests from 4 clients: parallel sort (fork-join pool), SHA-256 rounds, key-value writes and reads",
			A: func(ctx context.Context, e *env) error {
				return parallel(200, 4, func(i int) error {
					switch i % 4 {
					case 0:
						return e.request(ctx, "GET", "/sort?n=200000", "", "")
					case 1:
						return e.request(ctx, "POST", "/digest?rounds=1000", "abc", "")
					case 2:
						return e.request(ctx, "POST", fmt.Sprintf("/kv?k=%d", i), "v", "")
					default:
						return e.request(ctx, "GET", "/kv?k=2", "", "")
					}
				})
			},
			BDoc: "`/file` (temp file create, write, delete), `/gc` (allocation and a full GC), a burst of 100 connections, a restart",
			B: func(ctx context.Context, e *env) error {
				if err := parallel(20, 4, func(int) error { return e.request(ctx, "POST", "/file", "some text", "9") }); err != nil {
					return err
				}
				if err := e.request(ctx, "GET", "/gc?n=1000", "", "1000"); err != nil {
					return err
				}
				if err := e.burst(ctx, 100, "/healthz", "ok"); err != nil {
					return err
				}
				if err := e.restart(ctx); err != nil {
					return err
				}
				return e.request(ctx, "GET", "/sort?n=1000", "", "")
			},
		},
	}
}
