#!/bin/bash
# Chassis program for ipmi_sim's `chassis_control "PROG ARGS"`: the "power" of a lab host.
#
#   lab-chassis.sh STATEDIR get power          prints power:1 (host running) or power:0
#   lab-chassis.sh STATEDIR set power 0|1      power off (kill the host) / on (start it)
#   lab-chassis.sh STATEDIR set reset 1        off, then on
#   (any other get/set item is accepted and ignored)
#
# What a "host" is lives in STATEDIR, so the lab can swap a sleep for a whole PID namespace:
#   STATEDIR/start     executable, REQUIRED for power on: what runs while the power is on.
#                      Started detached in its own session (setsid); its pid is the host.
#   STATEDIR/stop      optional executable, called with the host pid for power off.
#                      Default: SIGKILL to the host's process group and the host pid.
#   STATEDIR/host.pid  "PID STARTTIME" of the running host (written here; the start time
#                      guards against a recycled pid).
#   STATEDIR/host.log  the host's output;  STATEDIR/chassis.log  one line per call.
#
# ipmi_sim runs this with its own environment, so everything here uses absolute paths.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
dir=${1:?usage: lab-chassis.sh STATEDIR get|set ITEM [VALUE]}
verb=${2:-}
item=${3:-}
value=${4:-}
value=${value//\"/}
pidfile=$dir/host.pid

echo "$(date +%H:%M:%S.%N) $verb $item $value" >>"$dir/chassis.log" 2>/dev/null

# Serialise calls: ipmi_sim may ask for status while a power change runs.
exec 9>"$dir/chassis.lock"
flock -w 10 9 || { echo "lab-chassis: lock busy" >&2; exit 1; }

# The host runs when its pid exists, is not a zombie, and has the recorded start time.
host_pid() {
  [ -r "$pidfile" ] || return 1
  local pid start stat rest
  read -r pid start <"$pidfile" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  set -- $rest
  [ "$1" != Z ] && [ "$1" != X ] || return 1
  [ "${20}" = "$start" ] || return 1
  echo "$pid"
}

power_on() {
  host_pid >/dev/null && return 0
  [ -x "$dir/start" ] || { echo "lab-chassis: $dir/start is missing or not executable" >&2; return 1; }
  # Close every inherited fd above 2 (ipmi_sim's UDP socket among them), or the host would
  # keep the BMC's port bound after the BMC stops.
  (
    for fd in /proc/$BASHPID/fd/*; do
      n=${fd##*/}
      [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null
    done
    exec setsid "$dir/start"
  ) </dev/null >>"$dir/host.log" 2>&1 &
  local pid=$! stat rest
  for _ in $(seq 1 50); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) && break
    sleep 0.02
  done
  rest=${stat##*) }
  set -- $rest
  echo "$pid ${20}" >"$pidfile"
}

power_off() {
  local pid
  pid=$(host_pid) || { rm -f "$pidfile"; return 0; }
  if [ -x "$dir/stop" ]; then
    "$dir/stop" "$pid" >>"$dir/host.log" 2>&1
  else
    kill -KILL -- "-$pid" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
  fi
  # Power is off only when the host is really gone.
  for _ in $(seq 1 250); do
    host_pid >/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.02
  done
  echo "lab-chassis: host pid $pid still runs after power off" >&2
  return 1
}

case "$verb $item" in
  "get power") if host_pid >/dev/null; then echo power:1; else echo power:0; fi ;;
  "set power") if [ "$value" = 1 ]; then power_on; else power_off; fi ;;
  "set reset") power_off && power_on ;;
  get\ *|set\ *) exit 0 ;;
  *) echo "lab-chassis: unknown request: $*" >&2; exit 2 ;;
esac
