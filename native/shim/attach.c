/*
 * The clients of <state>/ctl (see monitor.c): a Warden waiting for the exit, and attach
 * sessions (docker attach, docker run -it, resize), from whichever Warden is running now.
 *
 * Every client gets "PID <pid> <start time>\n" on connect. Then it may send frames, each
 * [type u8][length u32 big-endian][payload]:
 *
 *   'a' "<from>"        attach: the terminal's output is sent as 'o' frames from byte
 *                       <from> of this run (0: from the start, as far as the last 64 KiB
 *                       reach; -1: from now); at the end an 'x' frame "<code> <signal>"
 *   'i' bytes           stdin: to the terminal, or to the stdin pipe (at most 4 KiB)
 *   'e' ""              end of stdin: the pipe closes (a terminal has no end of input)
 *   'w' "<rows> <cols>" the terminal's size (TIOCSWINSZ: SIGWINCH to its foreground group)
 *
 * A client that never attached gets "EXIT <code> <signal>\n" at the end instead. Then the
 * socket closes.
 *
 * Without a terminal and without a log (`--log-driver none`), the pipes' output goes into the
 * ring instead as records, [1 stdout | 2 stderr][u32 BE length][bytes], sent in 'o' frames
 * like the terminal's (a record may span frames); an attach starts at a record's start
 * (`first_record`: the oldest one still whole in the ring, or now).
 *
 * The terminal's output goes into a ring; each attached client has its own position in it,
 * so a slow client is sent what it missed when it can take it. The master is read only while
 * no attached client would lose unsent bytes: a reading client is never skipped, a stalled
 * one holds the terminal (and the log) until it reads or goes, as an attached docker client
 * does. Input is queued and written as the pipe or terminal takes it; clients are read only
 * while the queue has room, which holds back the sender instead of blocking us.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define RING (64 * 1024)
#define MAX_IN 4096 /* largest 'i' payload */
#define RX (MAX_IN + 5)
#define TX 8192 /* largest 'o' payload */
#define INQ (64 * 1024)
#define FINISH_MS 2000

struct client {
  int fd;
  int attached;
  unsigned long long pos; /* next byte of the output to send */
  char rx[RX];
  size_t rxlen;
  char tx[TX + 5];
  size_t txlen, txoff;
};

static struct {
  int lfd, in_w, master;
  int in_close; /* 'e' arrived: close in_w once the queue is written */
  const char *hello;
  struct client *clients[MAX_CLIENTS];
  int nclients;
  char ring[RING];
  unsigned long long total;
  char inq[INQ];
  size_t inlen, inoff;
  int records;                      /* the ring holds records, not a terminal's bytes */
  unsigned long long first_record; /* where the oldest whole record starts */
} io = {.lfd = -1, .in_w = -1, .master = -1};

static unsigned long long lag(const struct client *c) { return io.total - c->pos; }

static void receive(struct client *c);
static struct client *accept_client(void);

void attach_init(int lfd, int in_w, int tty_master, const char *hello) {
  io.lfd = lfd;
  io.in_w = in_w;
  io.master = tty_master;
  io.hello = hello;
  if (in_w >= 0) fcntl(in_w, F_SETFL, fcntl(in_w, F_GETFL) | O_NONBLOCK);
  /* Sessions that connected while the process waited before execve (the socket is bound at
   * READY), with their 'a' frame sent: attached now, before the first byte is read, so a
   * command that ends at once is not over before they are served. */
  struct client *c;
  while ((c = accept_client()) != NULL) receive(c);
  int k = 0;
  for (int i = 0; i < io.nclients; i++) {
    if (io.clients[i]->fd >= 0) io.clients[k++] = io.clients[i];
    else free(io.clients[i]);
  }
  io.nclients = k;
}

static void say(int fd, const char *buf, size_t len) {
  ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n; /* a client that does not read loses its message; the exit file still has it */
}

static void drop(struct client *c) {
  close(c->fd);
  c->fd = -1;
}

static void close_input(void) {
  if (io.in_w >= 0 && io.in_w != io.master) close(io.in_w);
  io.in_w = -1;
  io.inlen = io.inoff = 0;
}

void attach_input_gone(void) {
  if (io.in_w == io.master) io.in_w = -1;
  io.master = -1;
  io.inlen = io.inoff = 0;
}

static void frame_header(char *h, char type, size_t len) {
  h[0] = type;
  h[1] = (char)(len >> 24), h[2] = (char)(len >> 16), h[3] = (char)(len >> 8), h[4] = (char)len;
}

/* One frame from a client; -1 drops it. */
static int on_frame(struct client *c, char type, const char *p, size_t len) {
  char text[48];
  if (type != 'i') {
    if (len >= sizeof text) return -1;
    memcpy(text, p, len);
    text[len] = '\0';
  }
  switch (type) {
  case 'a': {
    long long from = strtoll(text, NULL, 10);
    unsigned long long oldest = io.total > RING ? io.total - RING : 0;
    c->attached = 1;
    c->pos = from < 0 ? io.total : (unsigned long long)from < oldest ? oldest : (unsigned long long)from;
    if (c->pos > io.total) c->pos = io.total;
    /* Records: never mid-record; the run's start means the oldest whole one. */
    if (io.records && from >= 0) c->pos = io.first_record;
    return 0;
  }
  case 'i':
    /* nowhere to go (stdin closed), or no room: the sender ignored the back-pressure */
    if (io.in_w < 0 || io.in_close || len > INQ - (io.inlen - io.inoff)) return 0;
    if (io.inoff) memmove(io.inq, io.inq + io.inoff, io.inlen - io.inoff), io.inlen -= io.inoff, io.inoff = 0;
    memcpy(io.inq + io.inlen, p, len);
    io.inlen += len;
    return 0;
  case 'e':
    /* Docker's rule: closing the client's stdin closes a pipe, never a terminal. */
    if (io.in_w >= 0 && io.in_w != io.master) io.in_close = 1;
    return 0;
  case 'w': {
    unsigned rows, cols;
    if (sscanf(text, "%u %u", &rows, &cols) != 2 || rows > 65535 || cols > 65535) return -1;
    if (io.master >= 0) pty_set_size(io.master, rows, cols);
    return 0;
  }
  default:
    return -1;
  }
}

static void receive(struct client *c) {
  ssize_t n = recv(c->fd, c->rx + c->rxlen, sizeof c->rx - c->rxlen, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) c->rxlen += (size_t)n;
  size_t off = 0;
  while (c->rxlen - off >= 5) {
    const unsigned char *h = (const unsigned char *)c->rx + off;
    size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
    if (len > MAX_IN) return drop(c);
    if (c->rxlen - off < 5 + len) break;
    if (on_frame(c, (char)h[0], c->rx + off + 5, len) < 0) return drop(c);
    off += 5 + len;
  }
  memmove(c->rx, c->rx + off, c->rxlen - off);
  c->rxlen -= off;
  if (n <= 0) drop(c); /* frames sent before the close count (a resize, then EOF) */
}

/* Sends what the client's tx holds, refilled from the ring. */
static void transmit(struct client *c) {
  for (;;) {
    if (c->txoff == c->txlen) {
      unsigned long long left = lag(c);
      if (!left) return;
      size_t at = (size_t)(c->pos % RING);
      size_t len = left < TX ? (size_t)left : TX;
      if (len > RING - at) len = RING - at;
      frame_header(c->tx, 'o', len);
      memcpy(c->tx + 5, io.ring + at, len);
      c->pos += len;
      c->txlen = 5 + len;
      c->txoff = 0;
    }
    ssize_t n = send(c->fd, c->tx + c->txoff, c->txlen - c->txoff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return drop(c);
    c->txoff += (size_t)n;
  }
}

static int pending(const struct client *c) { return c->attached && (c->txoff < c->txlen || lag(c) > 0); }

void attach_output(const char *buf, size_t len) {
  while (len > 0) {
    size_t at = (size_t)(io.total % RING), n = len < RING - at ? len : RING - at;
    memcpy(io.ring + at, buf, n);
    io.total += n, buf += n, len -= n;
  }
  for (int i = 0; i < io.nclients; i++)
    if (io.clients[i]->attached) transmit(io.clients[i]);
}

void attach_records_init(void) { io.records = 1; }

static unsigned ring_byte(unsigned long long at) { return (unsigned char)io.ring[at % RING]; }

void attach_output_record(int stream, const char *buf, size_t len) {
  size_t need = ATTACH_RECORD_HEADER + len;
  if (need > RING) return; /* never: records are at most one line (16 KiB) */
  /* The records the new one overwrites are gone for a client that attaches from the start. */
  while (io.total + need - io.first_record > RING) {
    unsigned long long at = io.first_record;
    unsigned long long rlen = (unsigned long long)ring_byte(at + 1) << 24 | ring_byte(at + 2) << 16 |
                              ring_byte(at + 3) << 8 | ring_byte(at + 4);
    io.first_record += ATTACH_RECORD_HEADER + rlen;
  }
  char h[ATTACH_RECORD_HEADER];
  frame_header(h, (char)stream, len);
  attach_output(h, sizeof h);
  attach_output(buf, len);
}

size_t attach_output_room(void) {
  unsigned long long most = 0;
  for (int i = 0; i < io.nclients; i++)
    if (io.clients[i]->attached && lag(io.clients[i]) > most) most = lag(io.clients[i]);
  return (size_t)(RING - most);
}

static int input_room(void) { return io.in_w >= 0 && INQ - (io.inlen - io.inoff) < RX ? 0 : 1; }

int attach_poll(struct pollfd *pfd) {
  int n = 0;
  pfd[n++] = (struct pollfd){.fd = io.lfd, .events = POLLIN};
  int writing = io.in_w >= 0 && io.inlen > io.inoff;
  /* The pty master is polled for writing by the monitor's read of it too; that is fine. */
  pfd[n++] = (struct pollfd){.fd = writing ? io.in_w : -1, .events = POLLOUT};
  for (int i = 0; i < io.nclients; i++) {
    struct client *c = io.clients[i];
    short ev = (short)((input_room() ? POLLIN : 0) | (pending(c) ? POLLOUT : 0));
    pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
  }
  return n;
}

void attach_handle(const struct pollfd *pfd, int n) {
  if (n > 1 && pfd[1].revents && io.in_w >= 0) {
    ssize_t w = write(io.in_w, io.inq + io.inoff, io.inlen - io.inoff);
    if (w > 0) io.inoff += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR) close_input(); /* EPIPE: no reader left */
    if (io.inoff == io.inlen) io.inlen = io.inoff = 0;
  }
  for (int i = 0; i + 2 < n && i < io.nclients; i++) {
    struct client *c = io.clients[i];
    short re = pfd[i + 2].revents;
    if (re & POLLOUT && c->fd >= 0) transmit(c);
    if (re & (POLLIN | POLLHUP | POLLERR) && c->fd >= 0) receive(c);
  }
  if (io.in_close && io.inlen == io.inoff) close_input(), io.in_close = 0;
  int k = 0;
  for (int i = 0; i < io.nclients; i++) {
    if (io.clients[i]->fd >= 0) io.clients[k++] = io.clients[i];
    else free(io.clients[i]);
  }
  io.nclients = k;
  /* Accepted last: the order of pfd must match the client list it was built from. */
  if (n > 0 && pfd[0].revents & POLLIN) accept_client();
}

/* One pending connection, greeted; NULL when none is waiting (or no room: it is closed). */
static struct client *accept_client(void) {
  if (io.lfd < 0) return NULL;
  int fd = accept4(io.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return NULL;
  struct client *c = io.nclients < MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
  if (!c) {
    close(fd);
    return NULL;
  }
  c->fd = fd;
  say(fd, io.hello, strlen(io.hello));
  io.clients[io.nclients++] = c;
  return c;
}

void attach_finish(int code, int sig) {
  long long deadline = monitor_now_ms() + FINISH_MS;
  for (;;) {
    struct pollfd pfd[MAX_CLIENTS];
    int n = 0, waiting = 0;
    for (int i = 0; i < io.nclients; i++) {
      int p = io.clients[i]->fd >= 0 && pending(io.clients[i]);
      waiting += p;
      pfd[n++] = (struct pollfd){.fd = p ? io.clients[i]->fd : -1, .events = POLLOUT};
    }
    long long left = deadline - monitor_now_ms();
    if (!waiting || left <= 0 || poll(pfd, (nfds_t)n, (int)left) < 0) break;
    for (int i = 0; i < n; i++)
      if (pfd[i].revents && io.clients[i]->fd >= 0) transmit(io.clients[i]);
  }
  char text[48], line[64];
  int tlen = snprintf(text, sizeof text, "%d %d", code, sig);
  int llen = snprintf(line, sizeof line, "EXIT %d %d\n", code, sig);
  for (int i = 0; i < io.nclients; i++) {
    struct client *c = io.clients[i];
    if (c->fd < 0) continue;
    if (c->attached) {
      char f[5 + sizeof text];
      frame_header(f, 'x', (size_t)tlen);
      memcpy(f + 5, text, (size_t)tlen);
      say(c->fd, f, 5 + (size_t)tlen);
    } else {
      say(c->fd, line, (size_t)llen);
    }
    close(c->fd);
  }
  if (io.in_w >= 0 && io.in_w != io.master) close(io.in_w);
  if (io.lfd >= 0) close(io.lfd), unlink("ctl");
}
