/*
 * Namespaced sysctls (`docker run --sysctl`, issue 14), written by C in its own new
 * namespaces before the rootfs is set up, still through the host's /proc mount: the kernel
 * resolves /proc/sys/net in the writer's network namespace and kernel.shm*, kernel.msg*,
 * kernel.sem and fs.mqueue.* in its IPC namespace, so the host's values never change. Which
 * names are namespaced, and allowed, the service has decided (policy check `sysctls`); this
 * refuses only what could leave /proc/sys. Any failure stops the launch: a container never
 * runs without a setting it asked for.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Letters, digits, '_' and '-' between single dots: a sysctl name, never a path. */
static int name_ok(const char *n) {
  if (!*n || *n == '.') return 0;
  for (const char *p = n; *p; p++) {
    if (*p == '.' && (p[1] == '.' || p[1] == '\0')) return 0;
    if (*p != '.' && *p != '_' && *p != '-' && !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
        !(*p >= '0' && *p <= '9'))
      return 0;
  }
  return 1;
}

void apply_sysctls(const struct shim_config *cfg) {
  for (size_t i = 0; i < cfg->nsysctls; i++) {
    const struct sysctl_req *s = &cfg->sysctls[i];
    if (!name_ok(s->name)) die_err(EINVAL, "sysctl %.100s: not a sysctl name", s->name);
    char path[512];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", s->name);
    if (n < 0 || (size_t)n >= sizeof path) die_err(ENAMETOOLONG, "sysctl %.100s", s->name);
    /* Docker's mapping: every dot is a directory level. */
    for (char *p = path + strlen("/proc/sys/"); *p; p++)
      if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) die("sysctl %.100s", s->name);
    size_t len = strlen(s->value);
    ssize_t w;
    do w = write(fd, s->value, len);
    while (w < 0 && errno == EINTR);
    if (w < 0 || (size_t)w != len) die("sysctl %.100s=%.100s", s->name, s->value);
    close(fd);
  }
}
