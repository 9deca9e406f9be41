/*
 * warden-shim: shared declarations.
 *
 * The shim is the only place where Warden changes namespaces or credentials: Node runs
 * ~7 threads, and setns(CLONE_NEWNS)/unshare/fork are unsafe or refused in a threaded
 * process. This binary is single-threaded from start to execve.
 *
 * Files: main.c (parent side, protocol, supervision), config.c (config decoding),
 * rootfs.c (mount namespace: rootfs, /proc, /dev, /sys, masks, pivot_root),
 * process.c (hostname, loopback, rlimits, credentials, capabilities, execve),
 * monitor.c (after execve: the container's log and state files), attach.c (the control
 * socket's clients: exit notices, the terminal's output, stdin, resizes), pty.c (the
 * container's terminal, and the exec relay of a terminal),
 * seccomp.c (the container's seccomp filter, compiled with libseccomp), cgroupfs.c
 * (/sys/fs/cgroup inside the container).
 */
#ifndef WARDEN_SHIM_H
#define WARDEN_SHIM_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/types.h>

/* File descriptors the service hands us (see the protocol diagram in main.c). */
#define SHIM_CONTROL_FD 3 /* service -> shim: CONFIG frame, then 'G' (and 'E' when prepared) */
#define SHIM_STATUS_FD 4  /* shim -> service: PID / READY / EXEC / ERR / EXIT lines */

#define SHIM_MAX_CONFIG (1u << 20) /* 1 MiB: far above any real config, bounds the read */
#define SHIM_STEP_MAX 240

/* MODE_SECCOMP compiles the config's seccomp rules to BPF on stdout and exits (seccomp.c) */
enum shim_mode { MODE_RUN = 1, MODE_EXEC = 2, MODE_SECCOMP = 3 };

struct user_mount {
  int is_tmpfs;
  const char *src; /* bind only */
  const char *dst; /* absolute path inside the container */
  int readonly;    /* bind only */
  unsigned long long size; /* tmpfs only, bytes; 0 = kernel default */
  unsigned mode;           /* tmpfs only */
};

struct rlimit_req {
  const char *name;
  int resource;
  rlim_t soft, hard;
};

struct sysctl_req {
  const char *name, *value; /* dotted name (net.ipv4.ip_forward), as `docker run --sysctl` */
};

struct seccomp_rule_req {
  const char *syscall, *action, *conditions; /* see seccomp.c for the encoding */
};

struct shim_config {
  enum shim_mode mode;

  /* run mode: the container's filesystem */
  const char *rootfs;   /* plain rootfs dir, or the overlay mount point */
  const char **lowers;  /* overlay lowerdirs, top-most first; none = plain rootfs */
  size_t nlowers;
  const char *upper, *work;
  int readonly_rootfs;
  const char *hostname;
  int new_net; /* 0 for network mode 'host' */
  struct user_mount *mounts;
  size_t nmounts;
  /* v1 `tasks` files C writes "0" to, moving itself into the container's cgroups; none =
   * the service moves C (cgroup.procs) before 'G', as on v2 */
  const char **cgroup_tasks;
  size_t ncgroup_tasks;
  /* run mode: stop before execve, report READY and wait for 'E' (a prepared start) */
  int prepare;

  /* run mode: the shim monitors the container on its own (monitor.c); NULL = it only relays
   * the exit status, and fds 0-2 go to the container as the service passed them */
  const char *state_dir;
  const char *log_path;
  unsigned long long log_max; /* bytes per log file before it rotates */
  unsigned log_files;         /* files kept, the current one included */
  int log_none;               /* `--log-driver none`: output is read and dropped, no file */
  const char **cgroup_dirs;   /* read at exit for OOM kills and final usage */
  size_t ncgroup_dirs;

  /* both modes: the process gets a pty (pty.c) as fds 0-2 and controlling terminal; the
   * shim keeps its master. tty_rows/tty_cols: its first size (0 = the kernel's 0x0). */
  int tty;
  unsigned short tty_rows, tty_cols;
  /* run mode with `state`: the container's stdin is a pipe the shim feeds from attached
   * clients (attach.c), so it stays open while Warden is away */
  int stdin_pipe;

  /* exec mode: the container's PID 1 (host pid) whose namespaces we join */
  pid_t target;

  /* the process, both modes */
  char **argv; /* NULL-terminated */
  size_t argc;
  char **envp; /* NULL-terminated */
  size_t envc;
  const char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  uint64_t caps; /* effective/permitted/bounding mask, computed by the service */
  struct rlimit_req *rlimits;
  size_t nrlimits;
  /* run mode: namespaced sysctls written in C's own namespaces before the rootfs (sysctl.c) */
  struct sysctl_req *sysctls;
  size_t nsysctls;
  /* seccomp (see seccomp.c). run/exec: "bpf" with the program in `scbpf`, or "unconfined"
   * (one of them is required); seccomp mode: the default action, extra arches, rules. */
  const char *seccomp_default;
  const char *seccomp_bpf_hex;
  const char **scarches;
  size_t nscarches;
  struct seccomp_rule_req *scrules;
  size_t nscrules;
  void *seccomp_prog; /* struct sock_fprog, decoded in S; NULL when unconfined */
};

/* Failure reporting. `die` names the step (printf-style) and the errno it captured;
 * before clone it becomes an ERR line to the service, inside the container init it is
 * written to the exec-check pipe and relayed by the parent. Never returns. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3))) void die_err(int err, const char *fmt, ...);
void enter_child_reporting(int errfd);

/* config.c */
void parse_config(char *buf, size_t len, struct shim_config *cfg);

/* rootfs.c: everything between "go" and pivot_root in the new mount namespace */
void setup_rootfs(const struct shim_config *cfg);

/* cgroupfs.c: the container's own cgroup, read-only, under the rootfs's /sys */
void mount_cgroupfs(const char *sys);

/* sysctl.c */
void apply_sysctls(const struct shim_config *cfg);

/* process.c */
void set_hostname_and_lo(const struct shim_config *cfg);
void apply_rlimits(const struct shim_config *cfg);
void drop_privileges(const struct shim_config *cfg);
__attribute__((noreturn)) void exec_process(const struct shim_config *cfg);

/* monitor.c */
unsigned long long proc_start_time(pid_t pid);
void monitor_prepare(const struct shim_config *cfg);
void monitor_write_pid(const struct shim_config *cfg, pid_t pid);
/* Until the process is reaped and its output written; returns its wait status (-1: lost). */
/* The control socket in the state dir (-1 when it cannot be made; the files still are). */
int monitor_listen(const struct shim_config *cfg);
/* Closes and unlinks it (a start aborted before execve); -1: nothing. */
void monitor_unlisten(int lfd);
/* out_r/err_r: the output pipes, or the pty master and -1; in_w: where attached clients'
 * stdin goes (the stdin pipe, the pty master, or -1) */
int monitor_run(const struct shim_config *cfg, pid_t pid, int out_r, int err_r, int in_w, int lfd);
long long monitor_now_ms(void);
/* 1 once `pid` is reaped (its wait status in *status, -1 if lost), 0 while it runs. */
int monitor_try_reap(pid_t pid, int *status);

/* attach.c: the control socket's clients. `hello` goes to each on connect. */
void attach_init(int lfd, int in_w, int tty_master, const char *hello);
/* Adds the fds it waits on to pfd (at most attach_max_fds()), returns how many. */
#define ATTACH_MAX_FDS 18
int attach_poll(struct pollfd *pfd);
/* Handles the revents of the fds attach_poll added (same order, same count). */
void attach_handle(const struct pollfd *pfd, int n);
/* The terminal's output, for attached clients; and how much may be read without overwriting
 * what an attached client has not been sent yet. */
void attach_output(const char *buf, size_t len);
size_t attach_output_room(void);
/* `--log-driver none` without a terminal: nothing is kept, so attached clients read the
 * pipes live, as records [1 stdout | 2 stderr][u32 BE length][bytes] in the same ring. */
#define ATTACH_RECORD_HEADER 5
void attach_records_init(void);
void attach_output_record(int stream, const char *buf, size_t len);
/* The pty master is closed (the process and its children let go of the terminal). */
void attach_input_gone(void);
/* Sends attached clients the rest of the output (bounded), then the exit, and closes all. */
void attach_finish(int code, int sig);

/* pty.c */
void pty_child(const struct shim_config *cfg, int sock);
int pty_receive_master(int sock);
void pty_set_size(int master, unsigned rows, unsigned cols);
/* exec mode with a tty: relays fd 0 -> master -> fd 1 and resizes from the control fd until
 * the process is reaped and its output drained; returns its wait status (-1: lost). */
int pty_exec_relay(pid_t pid, int master);
/* seccomp.c: seccomp mode's whole job; decode the program in S; install in C right before
 * execve */
int seccomp_export(const struct shim_config *cfg);
void seccomp_decode(struct shim_config *cfg);
void seccomp_install(const struct shim_config *cfg);

#endif
