/*
 * The container's mount namespace, built between "go" and execve.
 *
 * Every mount target inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT): the
 * image is untrusted, and a symlink such as /proc -> /etc in a layer must resolve inside
 * the rootfs, not on the host (we have not pivoted yet, so a plain path would follow it
 * to the host's /etc). The resolved fd is turned back into a canonical path through
 * /proc/self/fd; nothing else runs in the container yet, so that path cannot change
 * under us before we use it.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum kind { MUST_EXIST, MAKE_DIR, MAKE_FILE };

/* Docker's defaults (the OCI spec it generates): masked paths get /dev/null (files) or an
 * empty read-only tmpfs (dirs); read-only paths get a read-only bind of themselves. */
static const char *const masked_paths[] = {
    "/proc/acpi",       "/proc/kcore",    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",     "/sys/firmware",       "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int open_in_root(int rootfd, const char *rel, int flags) {
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
}

/* mkdir -p inside the root, one component at a time; each parent is re-resolved from the
 * root so a symlinked component still cannot leave it. Returns an O_PATH fd. */
static int create_in_root(int rootfd, const char *rel, enum kind kind) {
  char buf[PATH_MAX];
  if (strlen(rel) >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(buf, rel);
  int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  if (parent < 0) return -1;
  char *comp = buf;
  for (;;) {
    char *slash = strchr(comp, '/');
    if (slash) *slash = '\0';
    int last = !slash || slash[1 + strspn(slash + 1, "/")] == '\0';
    if (*comp && strcmp(comp, ".") != 0) {
      int fd = open_in_root(rootfd, buf, O_PATH);
      if (fd < 0 && errno == ENOENT) {
        int rc;
        if (last && kind == MAKE_FILE) {
          rc = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (rc >= 0) close(rc);
        } else {
          rc = mkdirat(parent, comp, 0755);
        }
        if (rc < 0 && errno != EEXIST) {
          close(parent);
          return -1;
        }
        fd = open_in_root(rootfd, buf, O_PATH);
      }
      if (fd < 0) {
        close(parent);
        return -1;
      }
      close(parent);
      parent = fd;
    }
    if (last) return parent;
    *slash = '/';
    comp = slash + 1;
  }
}

/* Resolves `path` (absolute, as seen inside the container) to a canonical host path of
 * something inside the rootfs, creating it when asked. -1 with errno on failure. */
static int resolve(int rootfd, const char *path, enum kind kind, char out[PATH_MAX]) {
  const char *rel = path + strspn(path, "/");
  if (*rel == '\0') rel = ".";
  int fd = open_in_root(rootfd, rel, O_PATH);
  if (fd < 0 && errno == ENOENT && kind != MUST_EXIST) fd = create_in_root(rootfd, rel, kind);
  if (fd < 0) return -1;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, out, PATH_MAX - 1);
  int saved = errno;
  close(fd);
  if (n < 0) {
    errno = saved;
    return -1;
  }
  out[n] = '\0';
  return 0;
}

static void resolve_or_die(int rootfd, const char *path, enum kind kind, char out[PATH_MAX]) {
  if (resolve(rootfd, path, kind, out) < 0) die("mountpoint %s", path);
}

static void xmount(const char *src, const char *target, const char *fstype, unsigned long flags,
                   const char *data, const char *what) {
  if (mount(src, target, fstype, flags, data) < 0) die("mount %s", what);
}

/* mount_setattr changes only the read-only bit and, with AT_RECURSIVE, for every submount
 * of a recursive bind too (MS_REMOUNT|MS_BIND|MS_RDONLY applies to the top mount only). */
static void make_readonly(const char *path, int recursive, const char *what) {
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) == 0) return;
  if (errno != ENOSYS) die("remount %s read-only", what);
  xmount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL, what);
}

static void mount_rootfs(const struct shim_config *cfg) {
  if (cfg->nlowers == 0) {
    /* pivot_root needs new_root to be a mount point: bind the plain dir onto itself. */
    if (mount(cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind rootfs %s", cfg->rootfs);
    return;
  }
  /* mount(2) copies at most one page of options; beyond that the kernel would see a
   * truncated lowerdir list, so refuse clearly instead. */
  char opts[4096];
  size_t len = (size_t)snprintf(opts, sizeof opts, "lowerdir=");
  for (size_t i = 0; i < cfg->nlowers && len < sizeof opts; i++)
    len += (size_t)snprintf(opts + len, sizeof opts - len, "%s%s", i ? ":" : "", cfg->lowers[i]);
  if (len < sizeof opts)
    len += (size_t)snprintf(opts + len, sizeof opts - len, ",upperdir=%s,workdir=%s", cfg->upper, cfg->work);
  if (len >= sizeof opts) die_err(E2BIG, "mount overlay: options exceed one page (%zu lowerdirs)", cfg->nlowers);
  if (mount("overlay", cfg->rootfs, "overlay", 0, opts) < 0) die("mount overlay");
}

static void join(char out[PATH_MAX], const char *dir, const char *name) {
  if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) die_err(ENAMETOOLONG, "path %s/%s", dir, name);
}

static void setup_dev(const char *dev) {
  static const struct {
    const char *name;
    unsigned major, minor;
  } nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  static const struct {
    const char *target, *name;
  } links[] = {{"/proc/self/fd", "fd"},        {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
               {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},        {"/proc/kcore", "core"}};
  char p[PATH_MAX];

  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    join(p, dev, nodes[i].name);
    if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) == 0) {
      if (chmod(p, 0666) < 0) die("chmod /dev/%s", nodes[i].name); /* mknod honours the umask */
      continue;
    }
    if (errno != EPERM) die("mknod /dev/%s", nodes[i].name);
    /* mknod refused (e.g. by a devices cgroup): bind the host's node, which we can still see
     * because we have not pivoted yet. */
    int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) die("create /dev/%s", nodes[i].name);
    close(fd);
    char host[64];
    snprintf(host, sizeof host, "/dev/%s", nodes[i].name);
    xmount(host, p, NULL, MS_BIND, NULL, host);
  }
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    join(p, dev, links[i].name);
    if (symlink(links[i].target, p) < 0) die("symlink /dev/%s", links[i].name);
  }

  /* newinstance: the container gets its own pty namespace, not the host's ptys. */
  join(p, dev, "pts");
  if (mkdir(p, 0755) < 0) die("mkdir /dev/pts");
  xmount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", "/dev/pts");

  join(p, dev, "shm");
  if (mkdir(p, 01777) < 0) die("mkdir /dev/shm");
  xmount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "/dev/shm");

  /* mqueue shows the IPC namespace of whoever mounts it: ours, created by clone. */
  join(p, dev, "mqueue");
  if (mkdir(p, 0755) < 0) die("mkdir /dev/mqueue");
  xmount("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "/dev/mqueue");
}

static void mount_user(int rootfd, const struct user_mount *m) {
  char path[PATH_MAX];
  if (m->is_tmpfs) {
    char opts[64];
    if (m->size) snprintf(opts, sizeof opts, "mode=%o,size=%llu", m->mode, m->size);
    else snprintf(opts, sizeof opts, "mode=%o", m->mode);
    resolve_or_die(rootfd, m->dst, MAKE_DIR, path);
    /* Docker's --tmpfs defaults. */
    xmount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, m->dst);
    return;
  }
  struct stat st;
  if (stat(m->src, &st) < 0) die("bind source %s", m->src);
  resolve_or_die(rootfd, m->dst, S_ISDIR(st.st_mode) ? MAKE_DIR : MAKE_FILE, path);
  xmount(m->src, path, NULL, MS_BIND | MS_REC, NULL, m->dst);
  if (m->readonly) make_readonly(path, 1, m->dst);
}

static void mask_paths(int rootfd, const char *devnull) {
  char path[PATH_MAX];
  struct stat st;
  for (size_t i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) {
    const char *p = masked_paths[i];
    if (resolve(rootfd, p, MUST_EXIST, path) < 0) {
      if (errno == ENOENT) continue; /* kernel without it: nothing to hide */
      die("mask %s", p);
    }
    if (stat(path, &st) < 0) die("mask %s", p);
    if (S_ISDIR(st.st_mode)) xmount("tmpfs", path, "tmpfs", MS_RDONLY, NULL, p);
    else xmount(devnull, path, NULL, MS_BIND, NULL, p);
  }
  for (size_t i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++) {
    const char *p = readonly_paths[i];
    if (resolve(rootfd, p, MUST_EXIST, path) < 0) {
      if (errno == ENOENT) continue;
      die("read-only %s", p);
    }
    xmount(path, path, NULL, MS_BIND | MS_REC, NULL, p);
    make_readonly(path, 1, p);
  }
}

static void pivot(const char *rootfs) {
  if (chdir(rootfs) < 0) die("chdir rootfs");
  /* pivot_root(".", "."): the old root ends up stacked on top of the new one, so it can
   * be detached without needing a directory for it inside the container. */
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    if (umount2(".", MNT_DETACH) < 0) die("unmount old root");
  } else if (errno == EINVAL) {
    /* The host root is an initramfs, which cannot be pivoted away: move + chroot. */
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die("move rootfs to /");
    if (chroot(".") < 0) die("chroot");
  } else {
    die("pivot_root");
  }
  if (chdir("/") < 0) die("chdir /");
}

void setup_rootfs(const struct shim_config *cfg) {
  /* Nothing we mount may propagate back to the host (or to other containers). */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make mounts private");
  mount_rootfs(cfg);

  int rootfd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("open rootfs %s", cfg->rootfs);

  char path[PATH_MAX], dev[PATH_MAX], devnull[PATH_MAX];
  resolve_or_die(rootfd, "/proc", MAKE_DIR, path);
  xmount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "/proc");

  resolve_or_die(rootfd, "/dev", MAKE_DIR, dev);
  xmount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "/dev");
  setup_dev(dev);
  join(devnull, dev, "null");

  /* sysfs shows the network devices of the mounter's net namespace: ours, so only lo. */
  resolve_or_die(rootfd, "/sys", MAKE_DIR, path);
  xmount("sysfs", path, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "/sys");
  mount_cgroupfs(path);

  for (size_t i = 0; i < cfg->nmounts; i++) mount_user(rootfd, &cfg->mounts[i]);

  mask_paths(rootfd, devnull);
  close(rootfd);

  /* Last, so that creating mount points above could still write to the rootfs. Only the
   * rootfs mount itself: /dev, /dev/shm and rw binds stay writable, as in Docker. */
  if (cfg->readonly_rootfs) make_readonly(cfg->rootfs, 0, "/ (read-only rootfs)");
  pivot(cfg->rootfs);
}
