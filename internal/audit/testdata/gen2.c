// ERRNO with SECCOMP_FILTER_FLAG_LOG (logged refusal), then KILL_PROCESS.
#define _GNU_SOURCE
#include <seccomp.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
int main(void) {
  scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
  seccomp_attr_set(c, SCMP_FLTATR_CTL_LOG, 1);
  seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(rmdir), 0);
  seccomp_rule_add(c, SCMP_ACT_KILL_PROCESS, SCMP_SYS(keyctl), 0);
  if (seccomp_load(c)) { perror("load"); return 1; }
  printf("rmdir=%d\n", rmdir("/tmp/audit-capture/nothere"));
  pid_t p = fork();
  if (p == 0) { syscall(250, 0, 0, 0, 0, 0); return 0; }
  int st; waitpid(p, &st, 0); printf("child status=%x\n", st);
  return 0;
}
