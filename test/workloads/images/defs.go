package images

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

//go:embed apps
var apps embed.FS

func app(path string) []byte {
	b, err := apps.ReadFile("apps/" + path)
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return b
}

// JavaHome is where Debian's openjdk-17 lives in the image.
const JavaHome = "/usr/lib/jvm/java-17-openjdk-amd64"

// Image names.
const (
	Nginx    = "nginx"
	Redis    = "redis"
	Postgres = "postgres"
	Python   = "python"
	Node     = "node"
	JVM      = "jvm"
	JDK      = "jdk" // build only: compiles the JVM program
)

// Every image gets dash as /bin/sh: entry scripts and subprocesses use it.
var jdk = Def{Name: JDK, Roots: []string{"openjdk-17-jdk-headless"}, RootfsOnly: true}

// Defs are the images, the JDK first (the JVM image's Prepare needs it).
func Defs() []Def {
	return []Def{
		jdk,
		{
			Name:  Nginx,
			Roots: []string{"dash", "nginx"},
			Files: []File{
				{Path: "etc/nginx/workload.conf", Mode: 0o644, Data: app("nginx/workload.conf")},
				{Path: "var/www/html/index.html", Mode: 0o644, Data: []byte("<html><body>nri-seccomp workload</body></html>\n")},
				{Path: "var/www/html/big.bin", Mode: 0o644, Data: bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
				{Path: "var/www/html/data.json", Mode: 0o644, Data: bytes.Repeat([]byte(`{"k":"value","n":12345},`), 4096)},
				{Path: "var/log/nginx", Dir: true, Mode: 0o755},
				{Path: "var/lib/nginx", Dir: true, Mode: 0o755},
			},
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		{
			Name:  Redis,
			Roots: []string{"dash", "redis-server", "redis-tools"},
			Env:   []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			User:  "101:101",
		},
		{
			Name:  Postgres,
			Roots: []string{"dash", "postgresql-15", "postgresql-client-15"},
			Env:   []string{"PATH=/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"},
			User:  "102:102",
		},
		{
			Name:  Python,
			Roots: []string{"dash", "python3"},
			Files: []File{{Path: "app/app.py", Mode: 0o644, Data: app("python/app.py")}},
			Env:   []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"},
			User:  "1000:1000",
		},
		{
			Name:  Node,
			Roots: []string{"dash", "nodejs"},
			Files: []File{{Path: "app/server.js", Mode: 0o644, Data: app("node/server.js")}},
			Env:   []string{"PATH=/usr/bin:/bin"},
			User:  "1000:1000",
		},
		{
			Name:    JVM,
			Roots:   []string{"dash", "openjdk-17-jre-headless"},
			Prepare: compileJava,
			Env:     []string{"PATH=" + JavaHome + "/bin:/usr/bin:/bin", "JAVA_HOME=" + JavaHome},
			User:    "1000:1000",
		},
	}
}

// compileJava compiles apps/java/App.java with the JDK image's javac, run
// on this host from the unpacked root filesystem (the host is Debian 12
// too; javac finds its own libraries relative to itself).
func compileJava(ctx context.Context, b *Builder) ([]File, error) {
	root, err := b.RootfsOf(ctx, jdk)
	if err != nil {
		return nil, fmt.Errorf("jdk: %w", err)
	}
	src := app("java/App.java")
	dir, err := os.MkdirTemp(filepath.Join(b.Cache, "tmp"), "javac-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "App.java"), src, 0o644); err != nil {
		return nil, err
	}
	javac := filepath.Join(root, JavaHome, "bin", "javac")
	cmd := exec.CommandContext(ctx, javac, "--release", "17", "-d", filepath.Join(dir, "out"), filepath.Join(dir, "App.java"))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "JAVA_HOME=" + filepath.Join(root, JavaHome)}
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("javac: %w: %s", err, out)
	}
	var files []File
	classes, err := filepath.Glob(filepath.Join(dir, "out", "*.class"))
	if err != nil || len(classes) == 0 {
		return nil, fmt.Errorf("javac wrote no class files (%v)", err)
	}
	for _, c := range classes {
		data, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: "app/" + filepath.Base(c), Mode: 0o644, Data: data})
	}
	return files, nil
}
