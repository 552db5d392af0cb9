"""A small web app for the nri-seccomp workload matrix: threads (one per
request), sqlite3, subprocess, a log file reopened on SIGHUP."""
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.parse

PORT = int(sys.argv[1])
DB = "/tmp/app.db"
LOG_PATH = "/tmp/app.log"
log_lock = threading.Lock()
log_file = open(LOG_PATH, "a", buffering=1)


def reopen_log(signum, frame):
    global log_file
    with log_lock:
        log_file.close()
        log_file = open(LOG_PATH, "a", buffering=1)


signal.signal(signal.SIGHUP, reopen_log)


def db():
    conn = sqlite3.connect(DB, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


with db() as c:
    c.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with log_lock:
            log_file.write("%s %s\n" % (threading.current_thread().name, fmt % args))

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/healthz":
            return self.reply(200, {"ok": True})
        if url.path == "/items":
            with db() as c:
                rows = c.execute("SELECT id, name, qty FROM items ORDER BY id LIMIT ?",
                                 (int(q.get("limit", ["100"])[0]),)).fetchall()
            return self.reply(200, rows)
        if url.path == "/report":
            with db() as c:
                total = c.execute("SELECT COUNT(*), COALESCE(SUM(qty), 0) FROM items").fetchone()
            return self.reply(200, {"count": total[0], "qty": total[1],
                                    "threads": threading.active_count()})
        if url.path == "/shell":
            # A subprocess through the shell, as apps do for small tools.
            out = subprocess.run(["/bin/sh", "-c", "echo $((%d * 2))" % int(q.get("n", ["1"])[0])],
                                 capture_output=True, text=True, timeout=10)
            return self.reply(200, {"out": out.stdout.strip(), "rc": out.returncode})
        if url.path == "/python":
            # A second interpreter, as a worker process.
            out = subprocess.run([sys.executable, "-c", "import sys; print(sum(range(%d)))" % int(q.get("n", ["10"])[0])],
                                 capture_output=True, text=True, timeout=20)
            return self.reply(200, {"out": out.stdout.strip(), "rc": out.returncode})
        if url.path == "/vacuum":
            with db() as c:
                c.execute("VACUUM")
            return self.reply(200, {"vacuumed": True})
        return self.reply(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/items":
            with db() as c:
                cur = c.execute("INSERT INTO items (name, qty) VALUES (?, ?)", (data.get("name", ""), int(data.get("qty", 0))))
            return self.reply(201, {"id": cur.lastrowid})
        if self.path == "/export":
            path = "/tmp/export-%d.json" % threading.get_ident()
            with db() as c:
                rows = c.execute("SELECT id, name, qty FROM items").fetchall()
            with open(path + ".tmp", "w") as f:
                json.dump(rows, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(path + ".tmp", path)
            return self.reply(200, {"path": path, "rows": len(rows)})
        return self.reply(404, {"error": "not found"})


class Server(http.server.ThreadingHTTPServer):
    # socketserver's default backlog is 5: a burst of connections would
    # overflow it and wait on SYN retransmits.
    request_queue_size = 128


server = Server(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
signal.signal(signal.SIGTERM, lambda s, f: threading.Thread(target=server.shutdown).start())
server.serve_forever()
