/*
 * The container's seccomp filter.
 *
 * The service turns a profile (the built-in default, or a custom one in Docker's JSON
 * format) into flat records for this container's capabilities, architecture and kernel:
 *
 *   seccomp  <default action> | unconfined     exactly once, both modes (fail closed)
 *   scarch   <libseccomp arch name>            extra architectures (x86, x32 on x86_64)
 *   scrule   <syscall> <action> <conditions>   one libseccomp rule; conditions are
 *                                              "idx,op,value,value2" joined by ';' (AND)
 *
 * Actions: allow, errno:N, trace:N, kill_thread, kill_process, trap, log. Ops: ne, lt, le,
 * eq, ge, gt, me (masked equal: (arg & value) == value2).
 *
 * So the JSON parsing and the capability/architecture conditions live in one place (the
 * service, where they are unit-tested), and this file only compiles rules with libseccomp.
 * The filter is compiled in S right after the config is read, so a bad rule is an ERR
 * line before any process exists; C only loads it, as the very last step before execve,
 * after no_new_privs (which an unprivileged filter load requires) and the capability drop.
 */
#include "shim.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

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

void seccomp_compile(struct shim_config *cfg) {
  if (!cfg->seccomp_default) die_err(EINVAL, "config: seccomp missing (a profile or 'unconfined')");
  if (!strcmp(cfg->seccomp_default, "unconfined")) {
    if (cfg->nscrules || cfg->nscarches) die_err(EINVAL, "config: seccomp unconfined with rules");
    return;
  }
  uint32_t dflt = parse_action(cfg->seccomp_default);
  scmp_filter_ctx ctx = seccomp_init(dflt);
  if (!ctx) die_err(ENOMEM, "seccomp_init");
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
  cfg->seccomp_ctx = ctx;
}

void seccomp_install(const struct shim_config *cfg) {
  if (!cfg->seccomp_ctx) return; /* unconfined, checked in seccomp_compile */
  int rc = seccomp_load(cfg->seccomp_ctx);
  if (rc < 0) die_err(-rc, "load seccomp filter");
}
