/*
 * warden-shim: the parent side. Reads the config, creates the container init (run mode)
 * or a process inside an existing container (exec mode), lets the service place it in
 * its cgroups, learns whether execve succeeded, then stays as a tiny waiter that relays
 * the exit status (the service is not the parent of the container, so only we can wait).
 *
 * Parent <-> shim protocol (the same diagram is in src/runtime/shim/shim-protocol.ts):
 *
 *   Warden service (Node)          warden-shim  S                 container init  C
 *   ─────────────────────          ──────────────                 ─────────────────
 *   spawn(shim; fds 0-2 = stdio,
 *         3 = control, 4 = status)
 *   fd3 ── CONFIG ──────────────►  read u32 length + NUL-separated records
 *                                  run:  clone(NEWPID|NEWNS|NEWUTS|NEWIPC[|NEWNET]) ─► C
 *                                  exec: setns(pidfd of target), fork ──────────────► C
 *   fd4 ◄── "PID <host pid>\n" ──                                  C blocks on sync pipe
 *   placeInCgroups(pid)           (a no-op when CONFIG has `cgroup` records: C joins itself)
 *   fd3 ── 'G' ─────────────────►  write 'G' on sync pipe ────────► "0" → `cgroup` tasks files (run)
 *                                                                  unshare(NEWCGROUP) (run)
 *      (fd3 EOF before 'G' =                                       mounts, pivot_root,
 *       abort: S SIGKILLs C,                                       hostname, lo up, rlimits,
 *       reaps it, exits 1)                                         creds, caps, no_new_privs
 *                                  (prepare: C writes {0, "ready"} on the exec-check pipe
 *                                    and waits; S binds <state>/ctl (attach sessions may
 *   fd4 ◄── "READY\n"           ──   connect from now), waits for the go; fd3 EOF = abort)
 *   fd3 ── 'E' ─────────────────►  write 'E' on sync pipe ────────►
 *                                                                  execve(argv, env)
 *                                  read exec-check pipe (O_CLOEXEC):
 *                                    EOF              = execve succeeded
 *                                    {errno, step}    = C failed before execve, and exited
 *   fd4 ◄── "EXEC\n"            ──   (success)
 *   fd4 ◄── "ERR <errno> <step>\n"   (failure; S reaps C and exits 1)
 *                                  waitpid(C)   (with `state`: monitor.c's loop, which also
 *                                    writes C's output to the log, <state>/pid.json and
 *                                    exit.json, and serves <state>/ctl; with `tty`, C made a
 *                                    pty before execve and sent its master to S: pty.c)
 *   fd4 ◄── "EXIT <code> <sig>\n" ─  code = exit status or -1; sig = signal number or 0.
 *                                  S exits 0.
 *
 * S runs in its own session (the service spawns it with setsid) and needs nothing from the
 * service after EXEC: with `state` in the config it outlives the service, which may come back
 * and reconnect through <state>/ctl (live restore). Lines on fd4 then go nowhere (EPIPE).
 *
 * Failures in S itself (bad config, clone, setns) are also "ERR <errno> <step>\n" on fd4,
 * before or instead of "PID". Every line is one write() of < PIPE_BUF bytes.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What C writes on the exec-check pipe: fixed size, one write, so it is atomic. */
struct exec_error {
  int32_t err;
  char step[SHIM_STEP_MAX];
};

static int child_errfd = -1; /* set in C: failures go to the exec-check pipe */

void enter_child_reporting(int errfd) { child_errfd = errfd; }

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the service went away; nothing useful left to do with the message */
    p += n;
    len -= (size_t)n;
  }
}

static void send_line(const char *fmt, ...) {
  char line[SHIM_STEP_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  write_all(SHIM_STATUS_FD, line, (size_t)n);
}

static void report(int err, const char *step) {
  if (child_errfd >= 0) {
    struct exec_error rec;
    memset(&rec, 0, sizeof rec);
    rec.err = err;
    snprintf(rec.step, sizeof rec.step, "%s", step);
    write_all(child_errfd, &rec, sizeof rec);
  } else {
    send_line("ERR %d %s", err, step);
  }
}

__attribute__((noreturn)) static void vdie(int err, const char *fmt, va_list ap) {
  char step[SHIM_STEP_MAX];
  vsnprintf(step, sizeof step, fmt, ap);
  /* The step is one line of the protocol: a hostile path must not inject a second one. */
  for (char *c = step; *c; c++)
    if (*c == '\n' || *c == '\r') *c = '?';
  report(err ? err : EIO, step);
  _exit(1);
}

void die(const char *fmt, ...) {
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vdie(err, fmt, ap);
}

void die_err(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdie(err, fmt, ap);
}

static void read_exact(int fd, void *buf, size_t len, const char *what) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read %s", what);
    if (n == 0) die_err(EPIPE, "read %s: short frame", what);
    p += n;
    len -= (size_t)n;
  }
}

static struct shim_config *read_config(void) {
  unsigned char hdr[4];
  read_exact(SHIM_CONTROL_FD, hdr, 4, "config");
  size_t len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
  if (len == 0 || len > SHIM_MAX_CONFIG) die_err(EMSGSIZE, "read config: length %zu", len);
  char *buf = malloc(len);
  struct shim_config *cfg = malloc(sizeof *cfg);
  if (!buf || !cfg) die("read config: malloc");
  read_exact(SHIM_CONTROL_FD, buf, len, "config");
  parse_config(buf, len, cfg);
  return cfg;
}

/* Shared by both modes: the pipes C needs and S keeps the other ends of. */
struct child_args {
  const struct shim_config *cfg;
  int sync_r;  /* C reads 'G' here */
  int sync_w;  /* S's end, closed in C */
  int err_w;   /* exec-check pipe, O_CLOEXEC: closes by itself on a successful execve */
  int err_r;
  int stdout_w; /* monitored: the container's stdout and stderr, pipes to S; else -1 */
  int stderr_w;
  int stdin_r; /* `stdin`: the container's stdin, a pipe S feeds (attach.c); else -1 */
  int pty_w;   /* tty: C sends the pty master to S here (pty.c); else -1 */
  int pty_r;   /* S's end, closed in C */
};

/* Moves C into the container's cgroups, C itself and while single-threaded: writing "0" to
 * a v1 `tasks` file migrates the calling thread without taking the kernel's global
 * cgroup_threadgroup_rwsem for writing. Writing another process's pid to cgroup.procs (what
 * the service does otherwise) takes it, and taking it after it was idle waits for an RCU
 * grace period: 5-16 ms per launch measured on the development host, against 0.1-0.2 ms
 * for this. Any failure stops the launch: C never runs outside its limits. */
static void join_cgroups(const struct shim_config *cfg) {
  for (size_t i = 0; i < cfg->ncgroup_tasks; i++) {
    int fd = open(cfg->cgroup_tasks[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("join cgroup %.200s", cfg->cgroup_tasks[i]);
    if (write(fd, "0", 1) != 1) die("join cgroup %.200s", cfg->cgroup_tasks[i]);
    close(fd);
  }
}

/* A prepared start: everything up to execve is done. Tell S (a record with errno 0 on the
 * exec-check pipe) and wait for 'E'. EOF means the service gave up: S kills us anyway. */
static void await_exec(struct child_args *a) {
  struct exec_error ready;
  memset(&ready, 0, sizeof ready);
  snprintf(ready.step, sizeof ready.step, "ready");
  write_all(a->err_w, &ready, sizeof ready);
  char e;
  ssize_t n;
  do n = read(a->sync_r, &e, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || e != 'E') _exit(1);
  close(a->sync_r);
}

/* Runs in C (both modes) from the moment it exists until execve. */
static int child_main(void *arg) {
  struct child_args *a = arg;
  const struct shim_config *cfg = a->cfg;

  enter_child_reporting(a->err_w);
  close(a->sync_w);
  close(a->err_r);
  /* The service's protocol fds belong to S; C keeping them would hide S's exit. */
  close(SHIM_CONTROL_FD);
  close(SHIM_STATUS_FD);
  /* If S dies during setup, take C with it; cleared right before execve. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  char go;
  ssize_t n;
  do n = read(a->sync_r, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || go != 'G') _exit(1); /* the service aborted; S kills us anyway */
  if (!cfg->prepare) close(a->sync_r);
  if (a->stdout_w >= 0 && (dup2(a->stdout_w, 1) < 0 || dup2(a->stderr_w, 2) < 0)) die("dup2 output pipes");
  if (a->stdin_r >= 0 && dup2(a->stdin_r, 0) < 0) die("dup2 stdin pipe");
  if (a->pty_r >= 0) close(a->pty_r);

  if (setsid() < 0) die("setsid");
  if (cfg->mode == MODE_RUN) {
    join_cgroups(cfg);
    /* Only now: a cgroup namespace is rooted at the cgroup we are in when it is created,
     * and the service has just moved us into the container's cgroups. Cloning with
     * CLONE_NEWCGROUP would have rooted it at the service's own cgroup instead. */
    if (unshare(CLONE_NEWCGROUP) < 0) die("unshare cgroup namespace");
    apply_sysctls(cfg); /* in C's new net and IPC namespaces (sysctl.c) */
    setup_rootfs(cfg);
    set_hostname_and_lo(cfg);
  }
  apply_rlimits(cfg);
  drop_privileges(cfg);
  /* After the credentials: the terminal belongs to the container's user, as in Docker. */
  if (cfg->tty) pty_child(cfg, a->pty_w);
  if (cfg->prepare) await_exec(a);
  exec_process(cfg);
}

/* Joins every namespace of the target at once through its pidfd (one syscall, kernel
 * 5.8+; no window where we are half in). The pid namespace applies to our children only,
 * which is why exec mode forks afterwards. */
static void join_container(const struct shim_config *cfg) {
  int pidfd = (int)syscall(SYS_pidfd_open, cfg->target, 0);
  if (pidfd < 0) die("pidfd_open %d", (int)cfg->target);
  int flags = CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP;
  if (setns(pidfd, flags) < 0) die("setns %d", (int)cfg->target);
  close(pidfd);
}

/* The next byte from the service on the control fd; -1 unless it is `want` (EOF = abort). */
static int await_control(char want) {
  char c = 0;
  ssize_t n;
  do n = read(SHIM_CONTROL_FD, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1 && c == want ? 0 : -1;
}

/* One exec-check record from C: its size when whole, 0 on EOF (execve succeeded), else short. */
static size_t read_record(int fd, struct exec_error *rec) {
  size_t got = 0;
  while (got < sizeof *rec) {
    ssize_t n = read(fd, (char *)rec + got, sizeof *rec - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

static pid_t start_child(struct child_args *a) {
  const struct shim_config *cfg = a->cfg;
  if (cfg->mode == MODE_EXEC) {
    join_container(cfg);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) _exit(child_main(a));
    return pid;
  }
  /* CLONE_NEWCGROUP is deliberately absent: see child_main. Without CLONE_VM the child
   * gets a copy of our memory, so the stack only has to exist, not be shared. */
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (cfg->new_net ? CLONE_NEWNET : 0);
  size_t stack_size = 256 * 1024;
  char *stack = malloc(stack_size);
  if (!stack) die("clone: malloc stack");
  pid_t pid = clone(child_main, stack + stack_size, flags | SIGCHLD, a);
  if (pid < 0) die("clone");
  free(stack);
  return pid;
}

static int reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

static void abort_child(pid_t pid) {
  kill(pid, SIGKILL);
  reap(pid);
}

int main(void) {
  /* A service that died must not kill the waiter with SIGPIPE: C still needs reaping. */
  signal(SIGPIPE, SIG_IGN);

  struct shim_config *cfg = read_config();
  if (cfg->mode == MODE_SECCOMP) return seccomp_export(cfg);

  int sync[2], errp[2], outp[2] = {-1, -1}, errout[2] = {-1, -1}, inp[2] = {-1, -1}, ptys[2] = {-1, -1};
  if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) die("pipe");
  if (cfg->state_dir) {
    monitor_prepare(cfg);
    if (!cfg->tty && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errout, O_CLOEXEC) < 0)) die("pipe");
    if (cfg->stdin_pipe && pipe2(inp, O_CLOEXEC) < 0) die("pipe");
  }
  if (cfg->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptys) < 0) die("socketpair for the pty");
  struct child_args args = {cfg, sync[0], sync[1], errp[1], errp[0], outp[1], errout[1], inp[0], ptys[1], ptys[0]};

  pid_t pid = start_child(&args);
  close(sync[0]);
  close(errp[1]);
  for (int *fd = (int[]){outp[1], errout[1], inp[0], ptys[1]}, i = 0; i < 4; i++)
    if (fd[i] >= 0) close(fd[i]);
  if (cfg->state_dir) monitor_write_pid(cfg, pid);

  /* S never touches the container's stdio; holding it would delay EOF on the service's
   * side until S exits. An exec's terminal is the exception: S relays it over fds 0-1. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  int relay = cfg->tty && !cfg->state_dir;
  if (devnull >= 0) {
    if (!relay) dup2(devnull, 0), dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) close(devnull);
  }

  send_line("PID %d", (int)pid);

  if (await_control('G') < 0) {
    abort_child(pid);
    return 1;
  }
  write_all(sync[1], "G", 1);

  struct exec_error rec;
  size_t got;
  int lfd = -1;
  if (cfg->prepare) {
    /* C sets everything up, then reports ready (errno 0) and waits for 'E' from us. */
    got = read_record(errp[0], &rec);
    if (got == sizeof rec && rec.err == 0) {
      /* Bound before READY: the service connects waiting attach sessions before its go, and
       * they are served from the run's first byte (a command ending within milliseconds
       * still has its output read by them; see attach_init). */
      if (cfg->state_dir) lfd = monitor_listen(cfg);
      send_line("READY");
      if (await_control('E') < 0) {
        monitor_unlisten(lfd);
        abort_child(pid);
        return 1;
      }
      write_all(sync[1], "E", 1);
      got = read_record(errp[0], &rec);
    } else if (got == 0) {
      got = sizeof rec; /* C died before it could report anything */
      rec.err = EPROTO;
      snprintf(rec.step, sizeof rec.step, "prepare: the container process exited");
    }
  } else {
    got = read_record(errp[0], &rec);
  }
  /* An exec's terminal is resized through the control fd (pty.c); otherwise it is done. */
  if (!relay) close(SHIM_CONTROL_FD);
  close(sync[1]);
  close(errp[0]);
  if (got != 0) monitor_unlisten(lfd), lfd = -1;
  if (got == sizeof rec) {
    rec.step[sizeof rec.step - 1] = '\0';
    send_line("ERR %d %s", (int)rec.err, rec.step);
    abort_child(pid); /* C exits by itself after reporting; the kill only covers a hang */
    return 1;
  }
  if (got != 0) {
    send_line("ERR %d shim: truncated error report", EPROTO);
    abort_child(pid);
    return 1;
  }

  int master = cfg->tty ? pty_receive_master(ptys[0]) : -1;
  if (ptys[0] >= 0) close(ptys[0]);
  if (cfg->tty && master < 0) {
    send_line("ERR %d shim: no pty master from the container process", EPROTO);
    abort_child(pid);
    return 1;
  }
  if (cfg->state_dir && !cfg->prepare) lfd = monitor_listen(cfg);
  send_line("EXEC");
  int status;
  if (cfg->state_dir && cfg->tty) status = monitor_run(cfg, pid, master, -1, master, lfd);
  else if (cfg->state_dir) status = monitor_run(cfg, pid, outp[0], errout[0], inp[1], lfd);
  else if (relay) status = pty_exec_relay(pid, master);
  else status = reap(pid);
  if (status < 0) send_line("EXIT -1 0");
  else if (WIFSIGNALED(status)) send_line("EXIT -1 %d", WTERMSIG(status));
  else send_line("EXIT %d 0", WEXITSTATUS(status));
  return 0;
}
