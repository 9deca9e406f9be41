# A watchdog for one jest run of scripts/test.sh (sourced there). jest's own timeouts need its
# event loop: a run blocked outside it (a synchronous call that never returns, a global hook)
# would hold CI until CI's own limit and say nothing of where. This ends such a run itself, and
# first prints where it was: the files it was in, the process tree, each thread's kernel wait,
# the main thread's system call and the JavaScript stack (the inspector).
#
# watchdog NAME PID PROGRESS_FILE LIMIT_S STALL_S: PID leads its own process group
# (setsid); PROGRESS_FILE is what test/utils/summary-reporter.js appends a line to at each
# file's start and end; the run is ended after LIMIT_S in all, or STALL_S without a line.

watchdog_diagnose() {
  local name=$1 pid=$2 progress=$3 why=$4
  printf '\n── watchdog: the %s run %s; ending it ──\n' "$name" "$why"
  if [ -s "$progress" ]; then
    # Files started and not ended: what the run was in.
    awk '$2 == "start" { open[$3] = $1 } $2 == "end" { delete open[$3] }
         END { for (f in open) print "  in " f " since " open[f] }' "$progress"
    echo "  last lines of its progress:"
    tail -n 5 "$progress" | sed 's/^/    /'
  fi
  echo "  processes:"
  ps -o pid,ppid,stat,etimes,time,wchan:24,args --forest -g "$pid" 2>/dev/null | cut -c1-220 | sed 's/^/    /'
  echo "  jest's threads (state, kernel wait):"
  for t in /proc/"$pid"/task/*; do
    [ -r "$t/stat" ] || continue
    printf '    %s %s %s %s\n' "${t##*/}" "$(cut -d' ' -f3 "$t/stat" 2>/dev/null)" \
      "$(cat "$t/comm" 2>/dev/null)" "$(cat "$t/wchan" 2>/dev/null)"
  done
  echo "  main thread's system call (number and arguments; 'running' when in user space):"
  echo "    $(cat /proc/"$pid"/syscall 2>/dev/null)"
  # The inspector runs on a thread of its own: it pauses JavaScript even in a loop that never
  # yields (a report on a signal would wait for the event loop). A thread blocked in the kernel
  # pauses only when the call returns: then the system call above is the answer.
  echo "  JavaScript stack (node inspect):"
  (sleep 3; echo pause; sleep 3; echo bt; sleep 2; echo .exit) |
    timeout 20 node inspect -p "$pid" 2>&1 | grep -E '^(debug> )?#[0-9]' | sed 's/^debug> //; s/^/    /' | head -n 40
}

watchdog() {
  local name=$1 pid=$2 progress=$3 limit=$4 stall=$5
  local started now last
  started=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 10
    now=$(date +%s)
    last=$(stat -c %Y "$progress" 2>/dev/null || echo "$started")
    if [ $((now - started)) -ge "$limit" ]; then
      watchdog_diagnose "$name" "$pid" "$progress" "ran past its ${limit} s"
    elif [ $((now - last)) -ge "$stall" ]; then
      watchdog_diagnose "$name" "$pid" "$progress" "finished no file for ${stall} s"
    else
      continue
    fi
    kill -TERM -- -"$pid" 2>/dev/null
    sleep 10
    kill -KILL -- -"$pid" 2>/dev/null
    return 0
  done
}
