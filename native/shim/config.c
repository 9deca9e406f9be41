/*
 * Config decoding.
 *
 * The frame is a little-endian u32 length followed by that many bytes of NUL-terminated
 * strings: a key, then a fixed number of values for that key (table below). Repeated keys
 * append (arg, env, lower, group, bind, tmpfs, rlimit, scarch, scrule), in order. No escaping, no nesting,
 * no numbers in binary: the only parsing is "find the next NUL" and strtoull, so there is
 * little to get wrong. The service's encoder is src/runtime/shim/shim-protocol.ts.
 */
#include "shim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct key {
  const char *name;
  int nvalues;
};

static const struct key keys[] = {
    {"mode", 1},  {"rootfs", 1}, {"lower", 1},  {"upper", 1},    {"work", 1},  {"readonly", 1},
    {"hostname", 1}, {"net", 1}, {"bind", 3},   {"tmpfs", 3},    {"target", 1}, {"arg", 1},
    {"env", 1},   {"cwd", 1},    {"uid", 1},    {"gid", 1},      {"group", 1}, {"caps", 1},
    {"rlimit", 3}, {"cgroup", 1}, {"prepare", 1}, {"state", 1}, {"log", 3}, {"nolog", 1}, {"cgroupdir", 1},
    {"seccomp", 1}, {"scbpf", 1}, {"scarch", 1}, {"scrule", 3}, {"tty", 2}, {"stdin", 1},
    {"sysctl", 2},
};

/* Docker's ulimit names; the numbers differ between architectures, so the name travels. */
static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},         {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
    {"as", RLIMIT_AS},
};

static const struct key *find_key(const char *name) {
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(keys[i].name, name) == 0) return &keys[i];
  return NULL;
}

static unsigned long long parse_num(const char *key, const char *s, int base, unsigned long long max) {
  char *end;
  errno = 0;
  if (*s == '\0' || *s == '-' || *s == '+') die_err(EINVAL, "config: %s: not a number", key);
  unsigned long long v = strtoull(s, &end, base);
  if (errno || *end != '\0' || v > max) die_err(EINVAL, "config: %s: bad number", key);
  return v;
}

static rlim_t parse_rlim(const char *s) {
  if (strcmp(s, "unlimited") == 0) return RLIM_INFINITY;
  return (rlim_t)parse_num("rlimit", s, 10, ~0ULL - 1);
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) die("config: calloc");
  return p;
}

static int overlay_safe(const char *p) {
  /* ',' separates mount options and ':' separates lowerdirs; the service never hands out
   * such paths, and refusing them here beats a confusing mount error. */
  return p[0] == '/' && !strpbrk(p, ",:");
}

void parse_config(char *buf, size_t len, struct shim_config *cfg) {
  if (len == 0 || buf[len - 1] != '\0') die_err(EINVAL, "config: frame must end with NUL");

  /* Pass 1: count the repeated keys so the arrays are sized exactly. */
  size_t n_lower = 0, n_arg = 0, n_env = 0, n_group = 0, n_mount = 0, n_rlimit = 0, n_cgroup = 0, n_cgdir = 0;
  size_t n_scarch = 0, n_scrule = 0, n_sysctl = 0;
  for (char *p = buf; p < buf + len;) {
    const struct key *k = find_key(p);
    if (!k) die_err(EINVAL, "config: unknown key '%.40s'", p);
    if (!strcmp(k->name, "lower")) n_lower++;
    else if (!strcmp(k->name, "arg")) n_arg++;
    else if (!strcmp(k->name, "env")) n_env++;
    else if (!strcmp(k->name, "group")) n_group++;
    else if (!strcmp(k->name, "bind") || !strcmp(k->name, "tmpfs")) n_mount++;
    else if (!strcmp(k->name, "rlimit")) n_rlimit++;
    else if (!strcmp(k->name, "cgroup")) n_cgroup++;
    else if (!strcmp(k->name, "cgroupdir")) n_cgdir++;
    else if (!strcmp(k->name, "scarch")) n_scarch++;
    else if (!strcmp(k->name, "scrule")) n_scrule++;
    else if (!strcmp(k->name, "sysctl")) n_sysctl++;
    p += strlen(p) + 1;
    for (int i = 0; i < k->nvalues; i++) {
      if (p >= buf + len) die_err(EINVAL, "config: %s: missing value", k->name);
      p += strlen(p) + 1;
    }
  }

  memset(cfg, 0, sizeof *cfg);
  cfg->lowers = xcalloc(n_lower, sizeof *cfg->lowers);
  cfg->argv = xcalloc(n_arg + 1, sizeof *cfg->argv);
  cfg->envp = xcalloc(n_env + 1, sizeof *cfg->envp);
  cfg->groups = xcalloc(n_group, sizeof *cfg->groups);
  cfg->mounts = xcalloc(n_mount, sizeof *cfg->mounts);
  cfg->rlimits = xcalloc(n_rlimit, sizeof *cfg->rlimits);
  cfg->cgroup_tasks = xcalloc(n_cgroup, sizeof *cfg->cgroup_tasks);
  cfg->cgroup_dirs = xcalloc(n_cgdir, sizeof *cfg->cgroup_dirs);
  cfg->scarches = xcalloc(n_scarch, sizeof *cfg->scarches);
  cfg->scrules = xcalloc(n_scrule, sizeof *cfg->scrules);
  cfg->sysctls = xcalloc(n_sysctl, sizeof *cfg->sysctls);
  cfg->new_net = 1;
  cfg->cwd = "/";
  int have_caps = 0, have_uid = 0, have_gid = 0;

  /* Pass 2: fill in. Values point into buf, which lives until execve. */
  for (char *p = buf; p < buf + len;) {
    const char *name = p, *v[3] = {0};
    const struct key *k = find_key(name);
    p += strlen(p) + 1;
    for (int i = 0; i < k->nvalues; i++) {
      v[i] = p;
      p += strlen(p) + 1;
    }

    if (!strcmp(name, "mode")) {
      if (!strcmp(v[0], "run")) cfg->mode = MODE_RUN;
      else if (!strcmp(v[0], "exec")) cfg->mode = MODE_EXEC;
      else if (!strcmp(v[0], "seccomp")) cfg->mode = MODE_SECCOMP;
      else die_err(EINVAL, "config: mode: expected run, exec or seccomp");
    } else if (!strcmp(name, "rootfs")) cfg->rootfs = v[0];
    else if (!strcmp(name, "lower")) cfg->lowers[cfg->nlowers++] = v[0];
    else if (!strcmp(name, "upper")) cfg->upper = v[0];
    else if (!strcmp(name, "work")) cfg->work = v[0];
    else if (!strcmp(name, "readonly")) cfg->readonly_rootfs = parse_num(name, v[0], 10, 1);
    else if (!strcmp(name, "hostname")) cfg->hostname = v[0];
    else if (!strcmp(name, "net")) {
      if (!strcmp(v[0], "none")) cfg->new_net = 1;
      else if (!strcmp(v[0], "host")) cfg->new_net = 0;
      else die_err(EINVAL, "config: net: expected none or host");
    } else if (!strcmp(name, "bind") || !strcmp(name, "tmpfs")) {
      struct user_mount *m = &cfg->mounts[cfg->nmounts++];
      if (name[0] == 'b') {
        m->src = v[0];
        m->dst = v[1];
        if (!strcmp(v[2], "ro")) m->readonly = 1;
        else if (strcmp(v[2], "rw")) die_err(EINVAL, "config: bind %s: expected ro or rw", v[1]);
        if (m->src[0] != '/') die_err(EINVAL, "config: bind source %.100s: not absolute", m->src);
      } else {
        m->is_tmpfs = 1;
        m->dst = v[0];
        m->size = parse_num("tmpfs size", v[1], 10, ~0ULL);
        m->mode = (unsigned)parse_num("tmpfs mode", v[2], 8, 07777);
      }
      if (m->dst[0] != '/') die_err(EINVAL, "config: mount destination %.100s: not absolute", m->dst);
    } else if (!strcmp(name, "target")) cfg->target = (pid_t)parse_num(name, v[0], 10, 0x3fffffff);
    else if (!strcmp(name, "arg")) cfg->argv[cfg->argc++] = (char *)v[0];
    else if (!strcmp(name, "env")) cfg->envp[cfg->envc++] = (char *)v[0];
    else if (!strcmp(name, "cwd")) cfg->cwd = v[0];
    else if (!strcmp(name, "uid")) cfg->uid = (uid_t)parse_num(name, v[0], 10, 0xfffffffe), have_uid = 1;
    else if (!strcmp(name, "gid")) cfg->gid = (gid_t)parse_num(name, v[0], 10, 0xfffffffe), have_gid = 1;
    else if (!strcmp(name, "group")) cfg->groups[cfg->ngroups++] = (gid_t)parse_num(name, v[0], 10, 0xfffffffe);
    else if (!strcmp(name, "caps")) cfg->caps = parse_num(name, v[0], 16, ~0ULL), have_caps = 1;
    else if (!strcmp(name, "cgroup")) {
      if (v[0][0] != '/') die_err(EINVAL, "config: cgroup %.100s: not absolute", v[0]);
      cfg->cgroup_tasks[cfg->ncgroup_tasks++] = v[0];
    } else if (!strcmp(name, "prepare")) cfg->prepare = (int)parse_num(name, v[0], 10, 1);
    else if (!strcmp(name, "state")) cfg->state_dir = v[0];
    else if (!strcmp(name, "log")) {
      cfg->log_path = v[0];
      cfg->log_max = parse_num("log max", v[1], 10, ~0ULL);
      cfg->log_files = (unsigned)parse_num("log files", v[2], 10, 100);
    } else if (!strcmp(name, "tty")) {
      cfg->tty = 1;
      cfg->tty_rows = (unsigned short)parse_num("tty rows", v[0], 10, 65535);
      cfg->tty_cols = (unsigned short)parse_num("tty cols", v[1], 10, 65535);
    } else if (!strcmp(name, "stdin")) cfg->stdin_pipe = (int)parse_num(name, v[0], 10, 1);
    else if (!strcmp(name, "nolog")) cfg->log_none = (int)parse_num(name, v[0], 10, 1);
    else if (!strcmp(name, "cgroupdir")) cfg->cgroup_dirs[cfg->ncgroup_dirs++] = v[0];
    else if (!strcmp(name, "seccomp")) {
      if (cfg->seccomp_default) die_err(EINVAL, "config: seccomp given twice");
      cfg->seccomp_default = v[0];
    } else if (!strcmp(name, "scbpf")) cfg->seccomp_bpf_hex = v[0];
    else if (!strcmp(name, "scarch")) cfg->scarches[cfg->nscarches++] = v[0];
    else if (!strcmp(name, "scrule"))
      cfg->scrules[cfg->nscrules++] = (struct seccomp_rule_req){.syscall = v[0], .action = v[1], .conditions = v[2]};
    else if (!strcmp(name, "sysctl"))
      cfg->sysctls[cfg->nsysctls++] = (struct sysctl_req){.name = v[0], .value = v[1]};
    else if (!strcmp(name, "rlimit")) {
      struct rlimit_req *r = &cfg->rlimits[cfg->nrlimits];
      size_t i;
      for (i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
        if (!strcmp(rlimit_names[i].name, v[0])) break;
      if (i == sizeof rlimit_names / sizeof rlimit_names[0]) die_err(EINVAL, "config: rlimit %.20s: unknown", v[0]);
      r->name = rlimit_names[i].name;
      r->resource = rlimit_names[i].resource;
      r->soft = parse_rlim(v[1]);
      r->hard = parse_rlim(v[2]);
      cfg->nrlimits++;
    }
  }

  if (!cfg->mode) die_err(EINVAL, "config: mode missing");
  if (cfg->mode == MODE_SECCOMP) return; /* rules only; seccomp_export checks them */
  if (cfg->nscrules || cfg->nscarches) die_err(EINVAL, "config: seccomp rules are for seccomp mode");
  /* Everything security-relevant must be stated, never defaulted to root/all caps. */
  if (cfg->argc == 0) die_err(EINVAL, "config: no command (arg)");
  if (!have_caps || !have_uid || !have_gid) die_err(EINVAL, "config: caps, uid and gid are required");
  if (cfg->cwd[0] != '/') die_err(EINVAL, "config: cwd must be absolute");
  if (cfg->mode == MODE_EXEC && cfg->target <= 0) die_err(EINVAL, "config: exec needs target");
  /* exec mode runs in the container's mount namespace, where the host's cgroupfs is not */
  if (cfg->mode == MODE_EXEC && cfg->ncgroup_tasks) die_err(EINVAL, "config: cgroup is for run mode");
  if (cfg->mode == MODE_EXEC && cfg->prepare) die_err(EINVAL, "config: prepare is for run mode");
  if (cfg->mode == MODE_EXEC && cfg->nsysctls) die_err(EINVAL, "config: sysctl is for run mode");
  if (cfg->mode == MODE_EXEC && (cfg->state_dir || cfg->log_path || cfg->log_none))
    die_err(EINVAL, "config: state and log are for run mode");
  if (cfg->stdin_pipe && (!cfg->state_dir || cfg->tty)) die_err(EINVAL, "config: stdin is for a monitored run without tty");
  if (cfg->log_path && cfg->log_none) die_err(EINVAL, "config: log and nolog exclude each other");
  if (!cfg->state_dir != !(cfg->log_path || cfg->log_none)) die_err(EINVAL, "config: state and log (or nolog) go together");
  if (cfg->state_dir && (cfg->state_dir[0] != '/' || (cfg->log_path && cfg->log_path[0] != '/')))
    die_err(EINVAL, "config: state and log must be absolute paths");
  if (cfg->log_path && (cfg->log_files < 1 || cfg->log_max < 1024)) die_err(EINVAL, "config: log: at least 1 file of 1 KiB");
  if (cfg->mode == MODE_RUN) {
    if (!cfg->rootfs || cfg->rootfs[0] != '/') die_err(EINVAL, "config: rootfs must be an absolute path");
    if (cfg->nlowers && (!cfg->upper || !cfg->work)) die_err(EINVAL, "config: overlay needs upper and work");
    for (size_t i = 0; i < cfg->nlowers; i++)
      if (!overlay_safe(cfg->lowers[i])) die_err(EINVAL, "config: lowerdir %.100s: must be absolute, without ',' or ':'", cfg->lowers[i]);
    if (cfg->nlowers && (!overlay_safe(cfg->upper) || !overlay_safe(cfg->work)))
      die_err(EINVAL, "config: upper/work must be absolute, without ',' or ':'");
  }
  seccomp_decode(cfg);
}
