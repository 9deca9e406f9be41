#!/usr/bin/env bash
# Runs inside the cgroup v2 guest (run-guest.sh), started by test/guest/cgroup-v2.test.ts: Warden on
# its embedded defaults (PostgreSQL, Redis, data dir on the guest's own disk) driven with the real
# docker CLI. It only gathers what happened: each step's output and exit status land in OUT as
# NAME.out and NAME.rc, and the test on the host judges them. Usage: scenarios.sh OUT
set -u
OUT=$1
cd "$(dirname "$0")/../.."
exec >"$OUT/scenarios.log" 2>&1
# The trace goes to the log alone, not into the steps' outputs.
exec 9>&2
BASH_XTRACEFD=9
set -x

T0=${EPOCHREALTIME/./}
# mark NAME: seconds since the script started (builtins only: every exec costs 9p round trips).
mark() {
  local us=$((${EPOCHREALTIME/./} - T0))
  printf '%s %d.%d\n' "$1" $((us / 1000000)) $((us / 100000 % 10)) >>"$OUT/timings"
}
# step NAME CMD...: CMD's output and status to OUT/NAME.{out,rc}; no command runs longer than 300 s.
step() {
  local name=$1
  shift
  if declare -F "$1" >/dev/null; then "$@"; else timeout -k 10 300 "$@"; fi >"$OUT/$name.out" 2>&1
  echo $? >"$OUT/$name.rc"
  mark "$name"
}
# The container's cgroup as the host of the containers sees it (Warden's parent is "warden").
cgroup_of() { echo "/sys/fs/cgroup/warden/$(docker inspect -f '{{.Id}}' "$1")"; }

# Warden's state on the guest's disk: block I/O limits need the writable layers on a block device.
mkdir -p /var/lib/warden-guest
mount /dev/vda /var/lib/warden-guest
export WARDEN_DATA_DIR=/var/lib/warden-guest/data
export WARDEN_ADMIN_TOKEN=guest-admin-token-0123456789
# Emulated CPUs are 25x slower or worse: PostgreSQL may take seconds to accept a connection, and
# workers on the API's event loop spare a second Node process.
export WARDEN_DB_CONNECT_TIMEOUT=30 WARDEN_UP_WORKERS=inline
export DOCKER_HOST=unix://$WARDEN_DATA_DIR/docker.sock DOCKER_CONFIG=/tmp/docker-config
# The bytecode of Warden's modules, compiled on the host (code-cache.js): every node here loads it.
if [ -f "$OUT/code-cache.bin" ]; then
  export NODE_OPTIONS="--require $PWD/test/guest/code-cache.js" WARDEN_CODE_CACHE=$OUT/code-cache.bin \
    WARDEN_CODE_CACHE_STATS=$OUT/code-cache.log
fi
mkdir -p "$DOCKER_CONFIG"
{ uname -r; nproc; cat /sys/fs/cgroup/cgroup.controllers; } >"$OUT/guest.out"
mark boot

WPID=
# GET /health with bash alone: a curl every poll loads ~30 shared libraries over 9p, which the
# emulated guest pays for while Warden itself is loading.
healthy() {
  local status=
  exec 3<>/dev/tcp/127.0.0.1/8484 || return 1
  printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t 60 _ status _ <&3
  exec 3<&-
  [ "$status" = 200 ]
}
# start_warden N: `warden up` in its own session, healthy within 600 s (or the run ends here).
start_warden() {
  setsid node bin/warden.js up >"$OUT/warden-$1.log" 2>&1 &
  WPID=$!
  for _ in $(seq 300); do
    if healthy 2>/dev/null; then
      echo 0 >"$OUT/warden-$1.rc"
      mark "warden-$1"
      return 0
    fi
    kill -0 "$WPID" 2>/dev/null || break
    sleep 2
  done
  echo 1 >"$OUT/warden-$1.rc"
  mark "warden-$1"
  exit 1
}
# Every process of Warden's tree (service, workers, PostgreSQL, Redis) but the shims and their
# containers: what a crash of the service takes down. Builtins only: an exec per process (readlink,
# cat) made the walk take 20 s in the emulated guest, time in which a PostgreSQL worker can exit.
warden_tree() {
  local comm t c kids
  read -r comm <"/proc/$1/comm" 2>/dev/null || return 0
  [ "$comm" = warden-shim ] && return 0
  echo "$1"
  for t in /proc/"$1"/task/*/children; do
    read -ra kids <"$t" 2>/dev/null
    for c in "${kids[@]}"; do warden_tree "$c"; done
  done
}
# kill -9 of the tree: the service dies by SIGKILL (a process of the tree that already exited on
# its own, such as a PostgreSQL worker, is no failure).
crash() {
  local tree
  tree=$(warden_tree "$WPID")
  echo "$tree" | tr '\n' ' '
  kill -9 $tree 2>/dev/null
  wait "$WPID"
  local rc=$?
  echo "service exit $rc"
  [ "$rc" = 137 ]
}

# The doctor, then the CgroupDriver conformance suite on the real tree (conformance.js), beside the
# first start: two busy vCPUs get more of the host than one.
(
  step doctor node bin/warden.js doctor --json
  step conformance node test/guest/conformance.js "$OUT/cgroup-conformance.js" "$OUT/conformance.json"
) &
DOCTOR=$!
start_warden 1
wait "$DOCTOR"
step load docker load -i "$OUT/busybox.tar"

# The container's own cgroup, read-only, at /sys/fs/cgroup (cgroup namespace): its caps inside.
step caps docker run --rm --memory 64m --cpus 0.5 --pids-limit 50 busybox:1.35 sh -c '
  echo memory.max=$(cat /sys/fs/cgroup/memory.max) cpu.max=$(cat /sys/fs/cgroup/cpu.max | tr " " /) \
    pids.max=$(cat /sys/fs/cgroup/pids.max)
  echo cgroup=$(cat /proc/self/cgroup)
  grep " /sys/fs/cgroup " /proc/self/mountinfo
  mkdir /sys/fs/cgroup/escape 2>&1 || true'

step oom docker run --name oom --memory 32m busybox:1.35 sh -c 'head -c 200m /dev/zero | tail'
step oom-inspect docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom
step oom-rm docker rm oom

# 30 background sleeps under a cap of 10 tasks: forks fail past it. Builtins only at the end
# (read, echo): a full cgroup cannot fork a cat.
step pids docker run --rm --pids-limit 10 busybox:1.35 sh -c '
  sh -c "for i in \$(seq 30); do sleep 60 & done" 2>/tmp/err; echo inner=$?
  read -r err </tmp/err; echo "error=$err"
  read -r cur </sys/fs/cgroup/pids.current; read -r max </sys/fs/cgroup/pids.max
  read -r ev </sys/fs/cgroup/pids.events; echo "current=$cur max=$max events=$ev"'

# A busy loop under --cpus 0.5: its cgroup's CPU time against the wall clock, and docker stats.
step cpu-run docker run -d --name spin --cpus 0.5 busybox:1.35 sh -c 'while :; do :; done'
sleep 3
CG=$(cgroup_of spin)
cpu_sample() { echo "wall_usec=${EPOCHREALTIME/./}"; cat "$CG/cpu.stat"; head -1 /proc/stat; }
step cpu-max cat "$CG/cpu.max"
step cpu-0 cpu_sample
sleep 8
step cpu-1 cpu_sample
# The stream: one line a second, each against the sample before (the first against none).
# SIGKILL: on SIGTERM the CLI (v28) ends the stream but keeps redrawing "--" until a third signal.
step cpu-stats timeout -s KILL 12 docker stats --format '{{.CPUPerc}}' spin
step cpu-rm docker rm -f spin

# io.max: a 2 MiB direct write to the container's writable layer (on /dev/vda) at 1 MB/s.
DD='time dd if=/dev/zero of=/f bs=64k count=32 oflag=direct'
step io-free docker run --rm busybox:1.35 sh -c "$DD"
step io-capped docker run --rm --device-write-bps /dev/vda:1mb busybox:1.35 sh -c "cat /sys/fs/cgroup/io.max; $DD"

# A restart policy counts its restarts: on-failure:2 of a command that fails is started 3 times in
# all. Started here and judged after the next steps, so its restarts overlap them.
FLAKY_T=${EPOCHREALTIME%.*}
step flaky-run docker run -d --name flaky --restart on-failure:2 busybox:1.35 sh -c 'exit 3'

# The built-in seccomp profile in a default container (the init, then an exec'd process): busybox's
# unshare -U and -n answer EPERM while a shell and httpd work; the httpd answers a wget from an exec
# and from the host through the container's loopback (bridge networking is off in the guest, so no
# other container can reach it).
step seccomp-run docker run -d --name web busybox:1.35 sh -c '
  grep Seccomp: /proc/self/status; unshare -U true; unshare -n true; echo still-here
  mkdir /www && echo hello-from-httpd >/www/index.html && exec httpd -f -p 8080 -h /www'
step seccomp-exec docker exec web sh -c '
  for i in $(seq 60); do wget -qO- http://127.0.0.1:8080/ 2>/dev/null && break; sleep 1; done
  grep Seccomp: /proc/self/status; unshare -U true; echo exec-done'
step seccomp-host nsenter -t "$(docker inspect -f '{{.State.Pid}}' web)" -n busybox wget -qO- http://127.0.0.1:8080/
step seccomp-logs docker logs web
step seccomp-unconfined docker run --rm --security-opt seccomp=unconfined busybox:1.35 true

# The writable layer's size: df shows it, a write past it gets ENOSPC, and the layer's image takes
# at most that much of the disk under the data dir.
step disk docker run --name fill --storage-opt size=64m busybox:1.35 sh -c '
  df -k /; dd if=/dev/zero of=/fill bs=1M count=80; echo rc=$?'
FILL=$WARDEN_DATA_DIR/containers/$(docker inspect -f '{{.Id}}' fill)
step disk-usage stat -c 'blocks=%b size=%s' "$FILL/layer.ext4"
# Its layer's mount and loop device, while it exists and once it is removed (builtins only: each
# tool is a 9p load).
disk_left() {
  local l f
  [ -e "$FILL" ] && echo "left: $FILL"
  while read -r l; do [[ $l == *"$FILL"* ]] && echo "mounted: $l"; done </proc/self/mountinfo
  for f in /sys/block/loop*/loop/backing_file; do
    [ -e "$f" ] && read -r l <"$f" && [[ $l == "$FILL"* ]] && echo "loop: $f $l"
  done
  return 0
}
step disk-held disk_left
step disk-rm docker rm fill
step disk-left disk_left

# flaky: two restarts, then it stays down with its code; each start and exit is an event.
flaky_done() {
  local s end=$((${EPOCHREALTIME%.*} + 90))
  while [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
    s=$(docker inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' flaky)
    [ "$s" = '2 exited 3' ] && break
    sleep 1
  done
  echo "$s"
  docker events --since "$FLAKY_T" --until "$((${EPOCHREALTIME%.*} + 1))" --filter container=flaky \
    --filter event=start --filter event=die --format '{{.Action}} {{index .Actor.Attributes "exitCode"}}'
}
step flaky flaky_done
step flaky-rm docker rm -f flaky web

# Crash recovery: kill -9 of every Warden process; the container runs on, the next Warden adopts it.
# bounce (on-failure:2) waits on a FIFO in its root and exits with 5 when the host writes to it,
# which happens while Warden is down: the next Warden records the exit and restarts it by its policy.
BOUNCE_T=${EPOCHREALTIME%.*}
step keep-run docker run -d --name keep busybox:1.35 sh -c 'while :; do echo tick; sleep 1; done'
step bounce-run docker run -d --name bounce --restart on-failure:2 busybox:1.35 sh -c '
  mkfifo /p 2>/dev/null; read -r _ </p; exit 5'
step keep-before docker inspect -f '{{.State.Pid}}' keep bounce
{ read -r KEEP_PID; read -r BOUNCE_PID; } <"$OUT/keep-before.out"
KEEP_CG=$(cgroup_of keep)
step crash crash
# The FIFO's writer is bounded: it blocks until the container has it open for reading.
bounce_exit() {
  timeout 30 sh -c 'echo go >"$1"' _ "/proc/$1/root/p" || return 1
  for _ in $(seq 60); do
    [ -e "/proc/$1" ] || return 0
    sleep 0.5
  done
  return 1
}
step bounce-exit bounce_exit "$BOUNCE_PID"
step keep-alive cat "/proc/$KEEP_PID/status"
start_warden 2
step keep-after docker inspect -f '{{.State.Running}} {{.State.Pid}}' keep
step keep-logs docker logs --tail 2 keep
step keep-stats docker stats --no-stream --format '{{.MemUsage}} {{.PIDs}}' keep
# An exec into the adopted container joins its cgroup (namespace) and gets the seccomp filter.
step keep-exec docker exec keep sh -c 'cat /proc/self/cgroup; grep Seccomp: /proc/self/status'
# Its state once it runs again (at most 90 s), its start and die events, and every process of the
# guest that runs its command: its one running instance, the pid docker inspect names.
bounce_after() {
  local s end=$((${EPOCHREALTIME%.*} + 90)) p args
  while [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
    s=$(docker inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.Pid}}' bounce)
    [[ $s == [1-9]*' running '* ]] && break
    sleep 1
  done
  echo "$s"
  docker events --since "$BOUNCE_T" --until "$((${EPOCHREALTIME%.*} + 1))" --filter container=bounce \
    --filter event=start --filter event=die --format '{{.Action}} {{index .Actor.Attributes "exitCode"}}'
  for p in /proc/[0-9]*; do
    { mapfile -d '' args <"$p/cmdline"; } 2>/dev/null || continue
    [[ ${args[0]:-} == sh && ${args[2]:-} == *'read -r _ </p'* ]] && echo "process ${p#/proc/}"
  done
  return 0
}
step bounce-after bounce_after
step keep-rm docker rm -f keep bounce
step keep-cgroup-gone test ! -e "$KEEP_CG"
# Warden's parent holds no container cgroup (directories; its own interface files stay).
step cgroups-left find /sys/fs/cgroup/warden -mindepth 1 -type d

kill -TERM "$WPID"
for _ in $(seq 60); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.5; done
mark stopped
umount /var/lib/warden-guest
echo done >"$OUT/finished"
