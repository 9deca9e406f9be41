/*
 * The container's seccomp filter, in two steps.
 *
 * 1. Compile (seccomp mode, `mode seccomp`): the service turns a profile (the built-in one,
 *    or a custom one in Docker's JSON format) into flat records for one process's
 *    capabilities, architecture and kernel, and this mode compiles them with libseccomp and
 *    writes the BPF program to stdout:
 *
 *      seccomp  <default action>                  exactly once
 *      scarch   <libseccomp arch name>            extra architectures (x86, x32 on x86_64)
 *      scrule   <syscall> <action> <conditions>   one libseccomp rule; conditions are
 *                                                 "idx,op,value,value2" joined by ';' (AND)
 *
 *    Actions: allow, errno:N, trace:N, kill_thread, kill_process, trap, log. Ops: ne, lt,
 *    le, eq, ge, gt, me (masked equal: (arg & value) == value2).
 *
 * 2. Install (run and exec modes): the CONFIG frame carries `seccomp bpf` and `scbpf <hex>`
 *    (or `seccomp unconfined`; one of them is required, so a frame cannot forget the filter).
 *    S decodes the program; C loads it as the very last step before execve, after
 *    no_new_privs (which an unprivileged load requires) and the capability drop.
 *
 * Why split: libseccomp needs several ms of CPU here to compile the built-in profile (~40 ms
 * when this host is busy), and the service caches the program per distinct rule set (a handful: one per
 * capability set), so a launch only decodes and loads. The JSON parsing and the
 * capability/architecture conditions live in the service, where they are unit-tested.
 */
#include "shim.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_CONDITIONS 6 /* a syscall has at most six arguments */

static uint32_t parse_action(const char *s) {
  char *end;
  if (!strcmp(s, "allow")) return SCMP_ACT_ALLOW;
  if (!strcmp(s, "kill_thread")) return SCMP_ACT_KILL;
  if (!strcmp(s, "kill_process")) return SCMP_ACT_KILL_PROCESS;
  if (!strcmp(s, "trap")) return SCMP_ACT_TRAP;
  if (!strcmp(s, "log")) return SCMP_ACT_LOG;
  if (!strncmp(s, "errno:", 6) || !strncmp(s, "trace:", 6)) {
    errno = 0;
    unsigned long n = strtoul(s + 6, &end, 10);
    if (errno || *end || end == s + 6 || n > 0xffff) die_err(EINVAL, "config: seccomp action %.40s: bad number", s);
    return s[0] == 'e' ? SCMP_ACT_ERRNO((uint32_t)n) : SCMP_ACT_TRACE((uint32_t)n);
  }
  die_err(EINVAL, "config: seccomp action %.40s: unknown", s);
}

static enum scmp_compare parse_op(const char *s, size_t len) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
             {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"me", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (len == 2 && !strncmp(s, ops[i].name, 2)) return ops[i].op;
  die_err(EINVAL, "config: seccomp comparison %.*s: unknown", (int)(len < 8 ? len : 8), s);
}

static uint64_t next_number(const char **p, char stop, const char *syscall) {
  char *end;
  errno = 0;
  if (**p < '0' || **p > '9') die_err(EINVAL, "config: scrule %.60s: bad condition", syscall);
  unsigned long long v = strtoull(*p, &end, 10);
  if (errno || (*end != stop && !(stop == ';' && *end == '\0')))
    die_err(EINVAL, "config: scrule %.60s: bad condition", syscall);
  *p = *end ? end + 1 : end;
  return v;
}

static unsigned parse_conditions(const char *s, struct scmp_arg_cmp *out, const char *syscall) {
  unsigned n = 0;
  const char *p = s;
  while (*p) {
    if (n == MAX_CONDITIONS) die_err(EINVAL, "config: scrule %.60s: too many conditions", syscall);
    unsigned idx = (unsigned)next_number(&p, ',', syscall);
    const char *comma = strchr(p, ',');
    if (!comma || idx > 5) die_err(EINVAL, "config: scrule %.60s: bad condition", syscall);
    enum scmp_compare op = parse_op(p, (size_t)(comma - p));
    p = comma + 1;
    uint64_t a = next_number(&p, ',', syscall);
    uint64_t b = next_number(&p, ';', syscall);
    out[n++] = (struct scmp_arg_cmp){.arg = idx, .op = op, .datum_a = a, .datum_b = b};
  }
  return n;
}

int seccomp_export(const struct shim_config *cfg) {
  if (!cfg->seccomp_default || !strcmp(cfg->seccomp_default, "unconfined") || !strcmp(cfg->seccomp_default, "bpf"))
    die_err(EINVAL, "config: seccomp mode needs a default action");
  uint32_t dflt = parse_action(cfg->seccomp_default);
  scmp_filter_ctx ctx = seccomp_init(dflt);
  if (!ctx) die_err(ENOMEM, "seccomp_init");
  /* A binary tree of syscall numbers instead of a list: the kernel runs the filter for every
   * syscall number when it builds its allow cache at load time, so a shorter path per number
   * makes every launch cheaper. Best effort: older libseccomp lacks the attribute. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (size_t i = 0; i < cfg->nscarches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(cfg->scarches[i]);
    if (!arch) die_err(EINVAL, "config: scarch %.40s: unknown architecture", cfg->scarches[i]);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) die_err(-rc, "seccomp arch %.40s", cfg->scarches[i]);
  }
  for (size_t i = 0; i < cfg->nscrules; i++) {
    const struct seccomp_rule_req *r = &cfg->scrules[i];
    uint32_t action = parse_action(r->action);
    struct scmp_arg_cmp conds[MAX_CONDITIONS];
    unsigned n = parse_conditions(r->conditions, conds, r->syscall);
    /* Like Docker: a name this libseccomp (or architecture) does not know is skipped; the
     * syscall then gets the default action, which is the stricter outcome for an allowlist. */
    int nr = seccomp_syscall_resolve_name(r->syscall);
    if (nr == __NR_SCMP_ERROR) continue;
    /* A rule equal to the default action is refused by libseccomp and changes nothing. */
    if (action == dflt) continue;
    int rc = seccomp_rule_add_array(ctx, action, nr, n, conds);
    if (rc < 0) die_err(-rc, "seccomp rule %.60s", r->syscall);
  }
  int rc = seccomp_export_bpf(ctx, STDOUT_FILENO);
  if (rc < 0) die_err(-rc, "export seccomp program");
  return 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void seccomp_decode(struct shim_config *cfg) {
  if (!cfg->seccomp_default) die_err(EINVAL, "config: seccomp missing (a program or 'unconfined')");
  if (!strcmp(cfg->seccomp_default, "unconfined")) {
    if (cfg->seccomp_bpf_hex) die_err(EINVAL, "config: seccomp unconfined with a program");
    return;
  }
  if (strcmp(cfg->seccomp_default, "bpf")) die_err(EINVAL, "config: seccomp: expected bpf or unconfined");
  const char *hex = cfg->seccomp_bpf_hex;
  size_t len = hex ? strlen(hex) : 0;
  size_t insns = len / (2 * sizeof(struct sock_filter));
  if (!hex || len % (2 * sizeof(struct sock_filter)) || insns == 0 || insns > BPF_MAXINSNS)
    die_err(EINVAL, "config: scbpf: expected 1-%d BPF instructions in hex", BPF_MAXINSNS);
  unsigned char *bytes = malloc(len / 2);
  struct sock_fprog *prog = malloc(sizeof *prog);
  if (!bytes || !prog) die("config: malloc");
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) die_err(EINVAL, "config: scbpf: not lowercase hex");
    bytes[i] = (unsigned char)(hi << 4 | lo);
  }
  prog->len = (unsigned short)insns;
  prog->filter = (struct sock_filter *)bytes;
  cfg->seccomp_prog = prog;
}

void seccomp_install(const struct shim_config *cfg) {
  if (!cfg->seccomp_prog) return; /* unconfined, checked in seccomp_decode */
  /* The kernel verifies the program here; a bad one fails this step, before execve. */
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, cfg->seccomp_prog, 0, 0) < 0) die("load seccomp filter");
}
