/*
 * The container's terminal (`docker run -t`, `docker exec -t`).
 *
 * C allocates it itself, after pivot_root (run) or inside the container's mount namespace
 * (exec), so the slave is /dev/pts/N of the container's own devpts instance, owned by the
 * container's user; C is already a session leader (setsid), and takes the slave as its
 * controlling terminal and as fds 0-2. The master travels to S over a socketpair
 * (SCM_RIGHTS), as runc's console socket does, and S keeps it:
 *
 *   C: open /dev/ptmx, unlock, TIOCGPTPEER → slave, TIOCSWINSZ (first size),
 *      TIOCSCTTY, dup2(slave → 0,1,2), sendmsg(master) ───────────► S: recvmsg after EXEC
 *
 * Run mode: the monitor reads the master as the container's stdout (the log, attached
 * clients: attach.c). Exec mode: S relays it to the service over its own fds 0 and 1
 * (pty_exec_relay), and reads resizes from the control fd, kept open for that.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define RELAY_BUF 8192
#define DRAIN_MS 2000

void pty_set_size(int master, unsigned rows, unsigned cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  /* The kernel sends SIGWINCH to the terminal's foreground process group. */
  if (ioctl(master, TIOCSWINSZ, &ws) < 0) return; /* a hung-up terminal has no size left */
}

void pty_child(const struct shim_config *cfg, int sock) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) die("open /dev/ptmx");
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) die("unlock pty");
  /* The peer of this master, without looking a path up again (kernel 4.13+). */
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) die("open pty slave");
  if (cfg->tty_rows && cfg->tty_cols) pty_set_size(m, cfg->tty_rows, cfg->tty_cols);
  if (ioctl(s, TIOCSCTTY, 0) < 0) die("set controlling terminal");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(s, fd) < 0) die("dup2 pty slave");
  if (s > 2) close(s);

  char byte = 'm';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &m, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1) die("send pty master");
  close(m);
  close(sock);
}

int pty_receive_master(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  /* C sent it before its execve, which has happened: it is queued, or C never sent it. */
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void write_out(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the service is gone: the output has nowhere to go */
    p += n;
    len -= (size_t)n;
  }
}

/* Resize frames on the control fd: 'w', u32 big-endian length, "<rows> <cols>". */
struct control_rx {
  char buf[64];
  size_t len;
};

static int read_control(struct control_rx *rx, int master) {
  ssize_t n = read(SHIM_CONTROL_FD, rx->buf + rx->len, sizeof rx->buf - rx->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  rx->len += (size_t)n;
  while (rx->len >= 5) {
    uint32_t len = (uint32_t)(unsigned char)rx->buf[1] << 24 | (uint32_t)(unsigned char)rx->buf[2] << 16 |
                   (uint32_t)(unsigned char)rx->buf[3] << 8 | (unsigned char)rx->buf[4];
    if (rx->buf[0] != 'w' || len > 32) return -1;
    if (rx->len < 5 + len) break;
    char text[40];
    memcpy(text, rx->buf + 5, len);
    text[len] = '\0';
    unsigned rows, cols;
    if (sscanf(text, "%u %u", &rows, &cols) == 2) pty_set_size(master, rows, cols);
    memmove(rx->buf, rx->buf + 5 + len, rx->len - 5 - len);
    rx->len -= 5 + len;
  }
  return 0;
}

int pty_exec_relay(pid_t pid, int master) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  char out[RELAY_BUF], in[RELAY_BUF];
  size_t inlen = 0, inoff = 0;
  struct control_rx rx = {.len = 0};
  int in_open = 1, control_open = 1, status = -1, reaped = 0;
  long long deadline = 0;

  for (;;) {
    if (reaped && (master < 0 || monitor_now_ms() >= deadline)) break;
    struct pollfd pfd[4] = {
        {.fd = master, .events = (short)(POLLIN | (inlen > inoff ? POLLOUT : 0))},
        {.fd = in_open && inlen == inoff && !reaped ? 0 : -1, .events = POLLIN},
        {.fd = control_open && !reaped ? SHIM_CONTROL_FD : -1, .events = POLLIN},
        {.fd = reaped ? -1 : pidfd, .events = POLLIN},
    };
    int timeout = reaped ? (int)(deadline - monitor_now_ms()) : pidfd < 0 ? 100 : -1;
    if (poll(pfd, 4, timeout < 0 && reaped ? 0 : timeout) < 0 && errno != EINTR) break;
    if (master >= 0 && pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, out, sizeof out);
      if (n > 0) write_out(1, out, (size_t)n);
      /* EIO: no slave is open any more; the output is all read */
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) close(master), master = -1;
    }
    if (master >= 0 && inlen > inoff && pfd[0].revents & POLLOUT) {
      ssize_t n = write(master, in + inoff, inlen - inoff);
      if (n > 0) inoff += (size_t)n;
      if (inoff == inlen) inlen = inoff = 0;
    }
    if (pfd[1].revents) {
      ssize_t n = read(0, in, sizeof in);
      /* The client's stdin ended: a terminal has no end of input to pass on (Docker keeps
       * the terminal open); the process goes on, and ends when it will. */
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) in_open = 0;
      else if (n > 0) inlen = (size_t)n, inoff = 0;
    }
    if (pfd[2].revents && read_control(&rx, master) < 0) control_open = 0;
    if (!reaped && (pidfd < 0 || pfd[3].revents) && monitor_try_reap(pid, &status))
      reaped = 1, deadline = monitor_now_ms() + DRAIN_MS;
  }
  if (master >= 0) close(master);
  close(1);
  return status;
}
