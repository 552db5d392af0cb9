package policyhost

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultReloadDelay is how long the watcher waits after the last change
// before reloading: an editor's save or a ConfigMap update is several events
// (write, rename, symlink swap), and the policy is read once they settle.
const DefaultReloadDelay = 250 * time.Millisecond

// maxWatchedDirs bounds the directories watched under the policy's: enough
// for a policy tree with profile subdirectories, not for a mistaken "/".
const maxWatchedDirs = 64

// Watch reloads the policy whenever a file in its directory tree
// changes, until ctx is cancelled. It watches directories, not files: an
// editor replaces a file by renaming over it, and Kubernetes updates a
// ConfigMap volume by swapping a symlink, and neither is an event on the old
// file. Every reload goes through Reload, so a bad edit is refused and the
// policy in force stays. When the runtime configuration names another
// policy, the watch moves to it.
func (h *Host) Watch(ctx context.Context, delay time.Duration) error {
	if delay <= 0 {
		delay = DefaultReloadDelay
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching the policy: %w", err)
	}
	defer w.Close()

	var (
		watched []string
		path    string
	)
	retarget := func() {
		path = h.Path()
		want := watchDirs(path)
		for _, d := range watched {
			if !slices.Contains(want, d) {
				_ = w.Remove(d)
			}
		}
		var ok []string
		for _, d := range want {
			if err := w.Add(d); err != nil {
				h.logger.WithError(err).WithField("dir", d).Warn("cannot watch a policy directory; SIGHUP still reloads")
				continue
			}
			ok = append(ok, d)
		}
		watched = ok
		h.logger.WithField("policy", path).WithField("dirs", watched).Debug("watching the policy")
	}
	retarget()

	var (
		timer   *time.Timer
		timerC  <-chan time.Time
		trigger string
	)
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-h.moved:
			retarget()
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) {
				continue // touch, chmod: nothing to read
			}
			if !policyFile(ev.Name, path) {
				continue // a log or an editor's swap file next to the policy
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					// A new profile directory: watch it too.
					retarget()
				}
			}
			trigger = ev.Name
			if timer == nil {
				timer = time.NewTimer(delay)
			} else {
				timer.Reset(delay)
			}
			timerC = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow means events were lost: reload to be sure.
			h.logger.WithError(err).Warn("policy watch error; reloading")
			trigger = "watch error"
			if timer == nil {
				timer = time.NewTimer(delay)
			} else {
				timer.Reset(delay)
			}
			timerC = timer.C
		case <-timerC:
			timerC = nil
			// Errors are logged and counted by Reload.
			_, _ = h.Reload("file change: " + trigger)
			if h.Path() != path {
				retarget()
			}
		}
	}
}

// policyFile reports whether a change to name can change the policy at
// path: the policy itself, a YAML or JSON file (rules, profiles), or the
// "..data" symlink a Kubernetes ConfigMap volume swaps. A profile file with
// another extension is reloaded by SIGHUP.
func policyFile(name, path string) bool {
	if name == path {
		return true
	}
	base := filepath.Base(name)
	switch strings.ToLower(filepath.Ext(base)) {
	case ".yaml", ".yml", ".json":
		return !strings.HasPrefix(base, ".") || strings.HasPrefix(base, "..")
	}
	return base == "..data"
}

// watchDirs lists the directories to watch for a policy at path: the
// directory itself for a policy directory, the file's directory for a file,
// and their subdirectories (relative profile files), skipping hidden ones
// (a ConfigMap's timestamped "..2024_..." copies change by the symlink swap
// in the top directory).
func watchDirs(path string) []string {
	if path == "" {
		return nil
	}
	root := path
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		root = filepath.Dir(path)
	}
	dirs := []string{root}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root || !d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || len(dirs) >= maxWatchedDirs {
			return filepath.SkipDir
		}
		dirs = append(dirs, p)
		return nil
	})
	return dirs
}
