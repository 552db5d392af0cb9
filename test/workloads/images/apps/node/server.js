// A small HTTP server for the nri-seccomp workload matrix: JSON in and out,
// crypto on libuv's thread pool, files, a log reopened on SIGHUP.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const zlib = require('zlib');

const port = Number(process.argv[2]);
const logPath = '/tmp/node.log';
let log = fs.createWriteStream(logPath, { flags: 'a' });
const store = new Map();

process.on('SIGHUP', () => {
  const old = log;
  log = fs.createWriteStream(logPath, { flags: 'a' });
  old.end();
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

function reply(res, code, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  log.write(`${new Date().toISOString()} ${req.method} ${url.pathname}\n`);
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (url.pathname === '/healthz') return reply(res, 200, { ok: true });
    if (url.pathname === '/kv' && req.method === 'POST') {
      const { key, value } = JSON.parse(body || '{}');
      store.set(key, value);
      return reply(res, 201, { size: store.size });
    }
    if (url.pathname === '/kv') return reply(res, 200, { value: store.get(url.searchParams.get('key')) ?? null });
    if (url.pathname === '/hash') {
      const n = Number(url.searchParams.get('n') || '1000');
      return crypto.pbkdf2('secret', 'salt', n, 32, 'sha256', (err, key) => {
        if (err) return reply(res, 500, { error: String(err) });
        reply(res, 200, { hash: key.toString('hex') });
      });
    }
    if (url.pathname === '/gzip') {
      const data = Buffer.alloc(Number(url.searchParams.get('n') || '10000'), 'a');
      return zlib.gzip(data, (err, out) => reply(res, 200, { in: data.length, out: out.length }));
    }
    if (url.pathname === '/file') {
      const p = `/tmp/node-${process.pid}-${Date.now()}.txt`;
      return fs.writeFile(p, body || 'x', (err) => {
        if (err) return reply(res, 500, { error: String(err) });
        fs.readFile(p, (err2, data) => {
          fs.unlink(p, () => reply(res, 200, { bytes: data ? data.length : -1 }));
        });
      });
    }
    reply(res, 404, { error: 'not found' });
  });
});
server.listen(port, '127.0.0.1');
