/*
 * The monitor: what the shim does for a container after its execve when the config names a
 * state dir (run mode). Warden may be stopped, upgraded or killed while the container runs,
 * so nothing the container needs may depend on Warden's process:
 *
 *   - stdout/stderr are pipes to us, written to the log in Docker's json-file format
 *     ({"log":"…\n","stream":"stdout","time":"<RFC 3339, ns>"} per line), size-capped with
 *     rotation (log.jsonl → log.jsonl.1 → …); with `nolog` (--log-driver none) read and dropped;
 *   - <state>/pid.json: the container's and our own pid with their start times (field 22 of
 *     /proc/<pid>/stat), so a restarted Warden can tell them from a reused pid;
 *   - <state>/exit.json once the process ended and its output is written: exit code,
 *     signal, time, OOM kill and final usage read from its cgroups;
 *   - <state>/ctl: a unix socket (its clients: attach.c). A client gets
 *     "PID <pid> <start time>\n" at once and "EXIT <code> <signal>\n" once exit.json is
 *     written; attach sessions also get the terminal's output and send stdin and resizes.
 *   - with a tty (pty.c) the process's only output is the pty master, logged as stdout as
 *     Docker does; the container's stdin is the master, or (`stdin` in the config) a pipe
 *     whose writing end we keep, so that it outlives the Warden that started the container.
 *
 * Every state file is written to a temporary name and renamed, so a reader sees it whole
 * or not at all.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (16 * 1024) /* Docker's json-file splits lines longer than this */
#define DRAIN_MS 2000 /* after the process ended, how long its output may still arrive */

static struct {
  int fd;
  unsigned long long size;
} log_file = {-1, 0};

unsigned long long proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* comm (field 2) may contain spaces and parentheses: count from the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  for (int field = 2; field < 22 && p; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void write_file_atomic(const char *dir, const char *name, const char *text) {
  char tmp[4096], dst[4096];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  close(fd);
  if (n == (ssize_t)len) rename(tmp, dst);
  else unlink(tmp);
}

void monitor_prepare(const struct shim_config *cfg) {
  if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) die("mkdir state %.200s", cfg->state_dir);
  char p[4096];
  /* A restart reuses the dir: what the previous run left must not be read as this one's. */
  const char *stale[] = {"exit.json", "pid.json", "ctl"};
  for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", cfg->state_dir, stale[i]);
    unlink(p);
  }
  if (cfg->log_none) return; /* log_file.fd stays -1: entries are made and dropped */
  log_file.fd = open(cfg->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_file.fd < 0) die("open log %.200s", cfg->log_path);
  struct stat st;
  log_file.size = fstat(log_file.fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

void monitor_write_pid(const struct shim_config *cfg, pid_t pid) {
  char text[256];
  snprintf(text, sizeof text, "{\"pid\":%d,\"startTime\":%llu,\"shimPid\":%d,\"shimStartTime\":%llu}\n", (int)pid,
           proc_start_time(pid), (int)getpid(), proc_start_time(getpid()));
  write_file_atomic(cfg->state_dir, "pid.json", text);
}

static void rotate_log(const struct shim_config *cfg) {
  char from[4096], to[4096];
  close(log_file.fd);
  for (unsigned i = cfg->log_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", cfg->log_path);
    else snprintf(from, sizeof from, "%s.%u", cfg->log_path, i - 1);
    snprintf(to, sizeof to, "%s.%u", cfg->log_path, i);
    rename(from, to);
  }
  if (cfg->log_files <= 1) unlink(cfg->log_path);
  log_file.fd = open(cfg->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  log_file.size = 0;
}

static void rfc3339_now(char *out, size_t size) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, size - n, ".%09ldZ", ts.tv_nsec);
}

/* One json-file record; bytes >= 0x80 pass through (the reader decodes UTF-8). */
static void write_entry(const struct shim_config *cfg, const char *stream, const char *data, size_t len) {
  static char buf[LINE_MAX_BYTES * 6 + 128];
  char when[48];
  rfc3339_now(when, sizeof when);
  size_t o = 0;
  o += (size_t)snprintf(buf, sizeof buf, "{\"log\":\"");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)data[i];
    if (c == '"' || c == '\\') buf[o++] = '\\', buf[o++] = (char)c;
    else if (c == '\n') buf[o++] = '\\', buf[o++] = 'n';
    else if (c == '\t') buf[o++] = '\\', buf[o++] = 't';
    else if (c == '\r') buf[o++] = '\\', buf[o++] = 'r';
    else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, 7, "\\u%04x", c);
    else buf[o++] = (char)c;
  }
  o += (size_t)snprintf(buf + o, sizeof buf - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, when);
  if (log_file.fd < 0) return;
  if (log_file.size > 0 && log_file.size + o > cfg->log_max) rotate_log(cfg);
  if (log_file.fd < 0) return;
  size_t done = 0;
  while (done < o) {
    ssize_t n = write(log_file.fd, buf + done, o - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* a full disk loses output, never the container */
    done += (size_t)n;
  }
  log_file.size += o;
}

struct stream {
  const char *name;
  int fd;
  char buf[LINE_MAX_BYTES];
  size_t len;
};

/* Reads what is there; writes every whole line, and a partial one once it reaches the cap. */
static void pump(const struct shim_config *cfg, struct stream *s, size_t limit) {
  size_t room = sizeof s->buf - s->len;
  ssize_t n = read(s->fd, s->buf + s->len, room < limit ? room : limit);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    if (s->len) write_entry(cfg, s->name, s->buf, s->len);
    s->len = 0;
    close(s->fd);
    s->fd = -1;
    return;
  }
  if (cfg->tty) attach_output(s->buf + s->len, (size_t)n);
  else if (cfg->log_none) attach_output_record(s->name[3] == 'o' ? 1 : 2, s->buf + s->len, (size_t)n);
  s->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] != '\n') continue;
    write_entry(cfg, s->name, s->buf + start, i + 1 - start);
    start = i + 1;
  }
  if (start == 0 && s->len == sizeof s->buf) start = s->len, write_entry(cfg, s->name, s->buf, s->len);
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
}

/* The first number after `key` in `<dir>/<file>`, or -1. `key` NULL: the file's first number. */
static long long read_counter(const char *dir, const char *file, const char *key) {
  char path[4096], buf[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  if (!key) return strtoll(buf, NULL, 10);
  size_t klen = strlen(key);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, key, klen) && line[klen] == ' ') return strtoll(line + klen + 1, NULL, 10);
  return -1;
}

/* OOM kills and final usage from whichever of the v1/v2 files the cgroup dirs have. */
static void final_usage(const struct shim_config *cfg, char *out, size_t size) {
  long long oom = -1, peak = -1, cpu_ns = -1, v;
  for (size_t i = 0; i < cfg->ncgroup_dirs; i++) {
    const char *d = cfg->cgroup_dirs[i];
    if ((v = read_counter(d, "memory.oom_control", "oom_kill")) >= 0) oom = v;
    if ((v = read_counter(d, "memory.events", "oom_kill")) >= 0) oom = v;
    if ((v = read_counter(d, "memory.max_usage_in_bytes", NULL)) >= 0) peak = v;
    if ((v = read_counter(d, "memory.peak", NULL)) >= 0) peak = v;
    if ((v = read_counter(d, "cpuacct.usage", NULL)) >= 0) cpu_ns = v;
    if ((v = read_counter(d, "cpu.stat", "usage_usec")) >= 0) cpu_ns = v * 1000;
  }
  snprintf(out, size, "\"oomKilled\":%s,\"usage\":{\"cpuNs\":%lld,\"memoryPeakBytes\":%lld,\"oomKills\":%lld}",
           oom > 0 ? "true" : "false", cpu_ns, peak, oom);
}

/* Bound before the service hears READY (a prepared start: every start by the service) or
 * EXEC, so an attach session can connect before the command runs, and a client told the
 * container runs can connect. Connections are accepted once the monitor runs (attach_init). */
int monitor_listen(const struct shim_config *cfg) {
  /* sun_path holds 108 bytes and a data dir can be longer: bind relative to the state dir. */
  if (chdir(cfg->state_dir) < 0) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "ctl");
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* The start was aborted or failed before execve: no client is to wait on this run. */
void monitor_unlisten(int lfd) {
  if (lfd < 0) return;
  close(lfd);
  unlink("ctl");
}

int monitor_try_reap(pid_t pid, int *status) {
  int st;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == pid) *status = st;
  else if (r < 0 && errno != EINTR) *status = -1; /* lost: the exit is unknown */
  else return 0;
  return 1;
}

long long monitor_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Live records (no log, no terminal): read as far as attached clients keep up, header included. */
static size_t record_room(void) {
  size_t r = attach_output_room();
  r = r > ATTACH_RECORD_HEADER ? r - ATTACH_RECORD_HEADER : 0;
  return r < LINE_MAX_BYTES ? r : LINE_MAX_BYTES;
}

int monitor_run(const struct shim_config *cfg, pid_t pid, int out_r, int err_r, int in_w, int lfd) {
  struct stream streams[2] = {{.name = "stdout", .fd = out_r}, {.name = "stderr", .fd = err_r}};
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  char hello[64];
  snprintf(hello, sizeof hello, "PID %d %llu\n", (int)pid, proc_start_time(pid));
  attach_init(lfd, in_w, cfg->tty ? out_r : -1, hello);
  if (!cfg->tty && cfg->log_none) attach_records_init();
  if (cfg->tty) fcntl(out_r, F_SETFL, fcntl(out_r, F_GETFL) | O_NONBLOCK);
  int status = -1, reaped = 0;
  long long deadline = 0;

  for (;;) {
    if (reaped && ((streams[0].fd < 0 && streams[1].fd < 0) || monitor_now_ms() >= deadline)) break;
    struct pollfd pfd[3 + ATTACH_MAX_FDS];
    /* The terminal is read only as far as attached clients can keep up (attach.c). */
    size_t room = cfg->tty ? attach_output_room() : LINE_MAX_BYTES;
    if (!cfg->tty && cfg->log_none) room = record_room();
    pfd[0] = (struct pollfd){.fd = room ? streams[0].fd : -1, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = cfg->tty || room ? streams[1].fd : -1, .events = POLLIN};
    pfd[2] = (struct pollfd){.fd = reaped ? -1 : pidfd, .events = POLLIN};
    int na = attach_poll(pfd + 3);
    /* Without a pidfd (pre-5.3 kernel) the exit is found by polling waitpid. */
    int timeout = reaped ? (int)(deadline - monitor_now_ms()) : pidfd < 0 ? 100 : -1;
    if (poll(pfd, (nfds_t)(3 + na), timeout < 0 && reaped ? 0 : timeout) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (streams[i].fd < 0 || !pfd[i].revents) continue;
      size_t limit = cfg->tty ? (i == 0 ? room : LINE_MAX_BYTES) : cfg->log_none ? record_room() : LINE_MAX_BYTES;
      if (limit) pump(cfg, &streams[i], limit); /* a read of 0 bytes would look like EOF */
    }
    /* EIO on the master: no process holds the terminal any more; nothing can be written. */
    if (cfg->tty && streams[0].fd < 0) attach_input_gone();
    if (!reaped && (pidfd < 0 || pfd[2].revents) && monitor_try_reap(pid, &status))
      reaped = 1, deadline = monitor_now_ms() + DRAIN_MS;
    attach_handle(pfd + 3, na);
  }

  int code = -1, sig = 0;
  if (status >= 0 && WIFSIGNALED(status)) sig = WTERMSIG(status);
  else if (status >= 0) code = WEXITSTATUS(status);
  char when[48], usage[256], text[512];
  rfc3339_now(when, sizeof when);
  final_usage(cfg, usage, sizeof usage);
  snprintf(text, sizeof text, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\",%s}\n",
           code >= 0 ? code : 128 + sig, sig, when, usage);
  write_file_atomic(cfg->state_dir, "exit.json", text);
  attach_finish(code, sig);
  for (int i = 0; i < 2; i++)
    if (streams[i].fd >= 0) close(streams[i].fd);
  if (log_file.fd >= 0) close(log_file.fd);
  return status;
}
