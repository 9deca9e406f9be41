/*
 * /sys/fs/cgroup inside the container: its own cgroup, read-only, as Docker mounts it, so
 * runtimes that size themselves from their cgroup (the JVM, Node, Go, .NET) see their caps
 * instead of the host's memory and CPUs.
 *
 * C has joined the container's cgroups and unshared its cgroup namespace before this runs,
 * so every cgroupfs mounted here is rooted at the container's own cgroup and shows nothing
 * above it. v2 (only a "0::" line in /proc/self/cgroup): cgroup2 at /sys/fs/cgroup. v1: a
 * tmpfs there with one read-only mount per hierarchy, named by its controllers
 * (cpu,cpuacct) with a symlink per controller (cpu, cpuacct), as Docker lays it out; the
 * hybrid layout's unified hierarchy is left out, as Docker does.
 */
#include "shim.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGROUP_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define MAX_HIERARCHIES 32

static void mount_hierarchy(const char *root, char *controllers) {
  char dir[PATH_MAX], opts[256];
  /* a named hierarchy (name=systemd) is mounted by its name, under that name */
  const char *name = strncmp(controllers, "name=", 5) == 0 ? controllers + 5 : controllers;
  if (snprintf(dir, sizeof dir, "%s/%s", root, name) >= (int)sizeof dir) die_err(ENAMETOOLONG, "cgroup dir %s", name);
  if (snprintf(opts, sizeof opts, "%s", controllers) >= (int)sizeof opts) die_err(E2BIG, "cgroup options %s", name);
  if (mkdir(dir, 0555) < 0 && errno != EEXIST) die("mkdir /sys/fs/cgroup/%s", name);
  if (mount("cgroup", dir, "cgroup", CGROUP_FLAGS, opts) < 0) die("mount cgroup %s", name);
  if (!strchr(name, ',')) return;
  for (char *save = NULL, *c = strtok_r(controllers, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
    char link[PATH_MAX];
    if (snprintf(link, sizeof link, "%s/%s", root, c) >= (int)sizeof link) continue;
    if (symlink(name, link) < 0 && errno != EEXIST) die("symlink /sys/fs/cgroup/%s", c);
  }
}

void mount_cgroupfs(const char *sys) {
  char root[PATH_MAX];
  if (snprintf(root, sizeof root, "%s/fs/cgroup", sys) >= (int)sizeof root) die_err(ENAMETOOLONG, "cgroup root");

  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) die("open /proc/self/cgroup");
  char line[1024], hierarchies[MAX_HIERARCHIES][256];
  size_t n = 0;
  int unified = 0;
  while (fgets(line, sizeof line, f)) {
    char *ctrl = strchr(line, ':');
    char *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
    if (!path) continue;
    *path = '\0';
    ctrl++;
    if (*ctrl == '\0') unified = 1;
    else if (n < MAX_HIERARCHIES && strlen(ctrl) < sizeof hierarchies[0]) strcpy(hierarchies[n++], ctrl);
  }
  fclose(f);

  if (n == 0) {
    if (!unified) die_err(ENOENT, "no cgroup hierarchy in /proc/self/cgroup");
    if (mount("cgroup2", root, "cgroup2", CGROUP_FLAGS, NULL) < 0) die("mount cgroup2");
    return;
  }
  if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k") < 0)
    die("mount /sys/fs/cgroup tmpfs");
  for (size_t i = 0; i < n; i++) mount_hierarchy(root, hierarchies[i]);
  if (mount(NULL, root, NULL, MS_REMOUNT | CGROUP_FLAGS, "mode=755,size=64k") < 0)
    die("remount /sys/fs/cgroup read-only");
}
