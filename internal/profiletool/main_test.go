package profiletool

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as RunTest's child (ChildMain) and as a command to
// run under a profile (helperMain), selected by environment variables, so
// that `profile test` is exercised for real without building anything else.
func TestMain(m *testing.M) {
	switch os.Getenv("PROFILETOOL_TEST_ROLE") {
	case "child":
		os.Setenv("PROFILETOOL_TEST_ROLE", "helper")
		os.Exit(ChildMain(os.Args[1:], os.Stderr))
	case "helper":
		os.Exit(helperMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperMain makes one syscall and prints the errno: "mkdirat PATH" or
// "getpid". Exit 0 on success, 3 when the call failed.
func helperMain(args []string) int {
	var err error
	switch args[0] {
	case "mkdirat":
		err = unix.Mkdirat(unix.AT_FDCWD, args[1], 0o755)
	case "getpid":
		_ = unix.Getpid()
	default:
		fmt.Println("unknown helper", args)
		return 2
	}
	if err != nil {
		fmt.Println("errno", unix.ErrnoName(err.(unix.Errno)))
		return 3
	}
	fmt.Println("ok")
	return 0
}
