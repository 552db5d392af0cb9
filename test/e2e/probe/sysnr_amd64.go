package main

import "syscall"

// sysSocketNr is the number goSocket reports: socket(2) on amd64.
const sysSocketNr = syscall.SYS_SOCKET

// socket(AF_UNIX, an invalid type): past the filter, the kernel refuses it
// with EINVAL before making anything (see loopCalls).
func init() {
	loopCalls["socket"] = loopCall{nr: syscall.SYS_SOCKET, arg0: syscall.AF_UNIX, arg1: 0xffff, kernelErr: syscall.EINVAL}
}
