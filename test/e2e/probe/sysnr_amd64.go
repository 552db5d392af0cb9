package main

import "syscall"

// sysSocketNr is the number goSocket reports: socket(2) on amd64.
const sysSocketNr = syscall.SYS_SOCKET
