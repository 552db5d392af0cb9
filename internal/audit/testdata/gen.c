// Generates seccomp audit records: mkdir LOG, rmdir ERRNO, an x32-bit
// syscall (bad-arch action LOG), an i386 getpid via int 0x80 (LOG).
#define _GNU_SOURCE
#include <seccomp.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <string.h>
int main(void) {
  scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
  seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_LOG);
  seccomp_arch_add(c, SCMP_ARCH_X86);
  seccomp_rule_add(c, SCMP_ACT_LOG, SCMP_SYS(mkdir), 0);
  seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(rmdir), 0);
  seccomp_rule_add(c, SCMP_ACT_LOG, SCMP_SYS(getpid), 0);
  if (seccomp_load(c)) { perror("load"); return 1; }
  mkdir("/tmp/audit-capture/d", 0755);
  rmdir("/tmp/audit-capture/d");
  syscall(0x40000000 | 83, "/tmp/audit-capture/x32");
  long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory"); // i386 getpid
  printf("i386 getpid=%ld\n", r);
  return 0;
}
