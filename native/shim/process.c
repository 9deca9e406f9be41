/*
 * The container process itself: hostname, loopback, rlimits, credentials, capabilities,
 * no_new_privs, seccomp and execve. Runs after pivot_root (run mode) or after joining the
 * container's namespaces (exec mode).
 */
#include "shim.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void set_hostname_and_lo(const struct shim_config *cfg) {
  if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0) die("sethostname");
  if (!cfg->new_net) return; /* network 'host': the host's lo is not ours to touch */

  /* A new net namespace starts with lo down; 127.0.0.1 works only once it is up. An ioctl
   * on any AF_INET socket is enough, no netlink needed. */
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket for lo");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("get lo flags");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("bring up lo");
  close(s);
}

void apply_rlimits(const struct shim_config *cfg) {
  for (size_t i = 0; i < cfg->nrlimits; i++) {
    const struct rlimit_req *r = &cfg->rlimits[i];
    struct rlimit cur, want;
    if (getrlimit(r->resource, &cur) < 0) die("getrlimit %s", r->name);
    /* Raising a hard limit needs CAP_SYS_RESOURCE, which the service may not have (it is
     * absent on the development machine): cap at our own hard limit rather than fail. */
    want.rlim_max = r->hard < cur.rlim_max ? r->hard : cur.rlim_max;
    want.rlim_cur = r->soft < want.rlim_max ? r->soft : want.rlim_max;
    if (setrlimit(r->resource, &want) < 0) die("setrlimit %s", r->name);
  }
}

void drop_privileges(const struct shim_config *cfg) {
  /* Bounding set first: PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, which we
   * still have. PR_CAPBSET_READ fails with EINVAL past the kernel's last capability. */
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;
    if (!(cfg->caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      die("drop capability %d from the bounding set", cap);
  }

  /* Keep the permitted set across setuid(non-zero); capset below decides what stays. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("prctl keepcaps");
  if (setgroups(cfg->ngroups, cfg->groups) < 0) die("setgroups");
  if (setresgid(cfg->gid, cfg->gid, cfg->gid) < 0) die("setgid %u", (unsigned)cfg->gid);
  if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0) die("setuid %u", (unsigned)cfg->uid);

  /* Effective = permitted = the requested set for every user, inheritable empty, ambient
   * cleared: what Docker hands runc today. For a non-root user the kernel clears effective
   * and permitted at execve (no ambient, no file caps), so the process ends with none, and
   * with no_new_privs a file-capability binary still gets at most the bounding set. An
   * empty inheritable set is the fix for CVE-2022-24769. */
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)cfg->caps;
  data[1].effective = data[1].permitted = (uint32_t)(cfg->caps >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die("clear ambient capabilities");
}

static const char *env_path(const struct shim_config *cfg) {
  for (size_t i = 0; i < cfg->envc; i++)
    if (strncmp(cfg->envp[i], "PATH=", 5) == 0) return cfg->envp[i] + 5;
  return DEFAULT_PATH;
}

void exec_process(const struct shim_config *cfg) {
  /* After setuid, so a cwd the user may not enter fails here, as it would in Docker. */
  if (chdir(cfg->cwd) < 0) die("chdir %s", cfg->cwd);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("prctl no_new_privs");

  /* The container gets exactly fds 0-2; anything else we hold (including the exec-check
   * pipe) closes at execve. */
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) die("close_range");
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  umask(022);
  /* Last: from here on only the syscalls of the exec loop below run under the filter. */
  seccomp_install(cfg);

  const char *file = cfg->argv[0];
  if (strchr(file, '/')) {
    execve(file, cfg->argv, cfg->envp);
    die("exec %s", file);
  }
  /* Look up PATH from the container's env (execvpe would use ours). */
  const char *path = env_path(cfg);
  int saw_eacces = 0;
  char candidate[4096];
  while (path) {
    const char *colon = strchr(path, ':');
    size_t dirlen = colon ? (size_t)(colon - path) : strlen(path);
    int n = snprintf(candidate, sizeof candidate, "%.*s/%s", (int)dirlen, dirlen ? path : ".", file);
    if (dirlen == 0) n = snprintf(candidate, sizeof candidate, "./%s", file);
    if (n > 0 && (size_t)n < sizeof candidate) {
      execve(candidate, cfg->argv, cfg->envp);
      if (errno == EACCES) saw_eacces = 1;
      else if (errno != ENOENT && errno != ENOTDIR) die("exec %s", candidate);
    }
    path = colon ? colon + 1 : NULL;
  }
  die_err(saw_eacces ? EACCES : ENOENT, "exec %s", file);
}
