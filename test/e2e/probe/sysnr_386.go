package main

import "syscall"

// sysSocketNr is the number goSocket reports: on 386 the syscall package
// creates sockets through socketcall(2).
const sysSocketNr = syscall.SYS_SOCKETCALL
