// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"testing"
)

// Stdin makes os.Stdin read content (a regular file, as a shell redirect
// gives) until the test ends; commands then read "-" from it.
func Stdin(t testing.TB, content string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
}
