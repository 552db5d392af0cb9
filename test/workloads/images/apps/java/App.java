// A small HTTP service for the nri-seccomp workload matrix: the JDK's own
// HTTP server on a thread pool, some computation, files, a shutdown hook.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

public class App {
    static final ConcurrentHashMap<String, String> store = new ConcurrentHashMap<>();

    static void reply(HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain");
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    static int param(HttpExchange ex, String name, int def) {
        String q = ex.getRequestURI().getQuery();
        if (q == null) return def;
        for (String kv : q.split("&")) {
            String[] p = kv.split("=", 2);
            if (p.length == 2 && p[0].equals(name)) return Integer.parseInt(p[1]);
        }
        return def;
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 128);
        server.createContext("/healthz", ex -> reply(ex, 200, "ok"));
        server.createContext("/sort", ex -> {
            int n = param(ex, "n", 10000);
            long[] a = new Random(n).longs(n).toArray();
            Arrays.parallelSort(a);
            reply(ex, 200, Long.toString(a[n / 2]));
        });
        server.createContext("/digest", ex -> {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                byte[] d = ex.getRequestBody().readAllBytes();
                for (int i = 0; i < param(ex, "rounds", 100); i++) d = md.digest(d);
                reply(ex, 200, String.format("%064x", new java.math.BigInteger(1, d)));
            } catch (Exception e) {
                reply(ex, 500, e.toString());
            }
        });
        server.createContext("/kv", ex -> {
            String k = Integer.toString(param(ex, "k", 0));
            if (ex.getRequestMethod().equals("POST")) {
                store.put(k, new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                reply(ex, 201, Integer.toString(store.size()));
            } else {
                reply(ex, 200, store.getOrDefault(k, ""));
            }
        });
        server.createContext("/file", ex -> {
            Path p = Files.createTempFile("app", ".txt");
            Files.write(p, ex.getRequestBody().readAllBytes());
            long size = Files.size(p);
            Files.delete(p);
            reply(ex, 200, Long.toString(size));
        });
        server.createContext("/gc", ex -> {
            byte[][] junk = new byte[param(ex, "n", 100)][];
            for (int i = 0; i < junk.length; i++) junk[i] = new byte[1 << 16];
            System.gc();
            reply(ex, 200, Integer.toString(junk.length));
        });
        server.setExecutor(Executors.newFixedThreadPool(8));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
        server.start();
    }
}
