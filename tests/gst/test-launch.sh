#!/usr/bin/env bash
# End-to-end tests of the zerocopy plugin with real gst-launch-1.0
# processes: a producer pipeline ending in zcsink, consumers starting with
# zcsrc, and the same source run in-process as the reference.  Each frame
# the consumers receive must have the checksum of the reference frame at
# the same position (checksumsink, from gst-plugins-bad; without it,
# fakesink and buffer counts only).
#
#   usage: tests/gst/test-launch.sh PLUGIN_DIR
#
# Prints one "ok N - ..." / "not ok N - ..." line per case (TAP) and exits
# non-zero if any case failed.  Every case runs under its own
# XDG_RUNTIME_DIR and checks that no socket file is left behind.
set -u

plugin_dir=${1:?usage: $0 PLUGIN_DIR}
export GST_PLUGIN_PATH="$plugin_dir${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# How long any one process may run before the case fails (not a timing
# assertion: a bound so that a hang fails instead of blocking CI).
limit=60
work=$(mktemp -d "${TMPDIR:-/tmp}/zc-launch-XXXXXX")
pids=()

cleanup () {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if ! gst-inspect-1.0 zcsrc >/dev/null 2>&1 \
    || ! gst-inspect-1.0 zcsink >/dev/null 2>&1; then
  echo "Bail out! zcsrc/zcsink not found in $plugin_dir"
  exit 1
fi
if gst-inspect-1.0 checksumsink >/dev/null 2>&1; then
  sink=checksumsink
else
  sink="fakesink silent=false"
  echo "# checksumsink missing: comparing buffer counts only"
fi

n_case=0
failed=0

report () {
  n_case=$((n_case + 1))
  if [ "$1" = 0 ]; then
    echo "ok $n_case - $2"
  else
    echo "not ok $n_case - $2"
    failed=$((failed + 1))
  fi
}

# The per-frame column of a sink's output: checksums, or one line per
# buffer for fakesink.
frames () {
  if [ "$sink" = checksumsink ]; then
    grep -aE '^[0-9]+:[0-9]{2}:[0-9]{2}\.[0-9]+ [0-9a-f]{40}$' "$1" \
        | cut -d' ' -f2
  else
    grep -a 'chain' "$1" | sed 's/.*(\([0-9]*\) bytes.*/\1/'
  fi
}

# Starts gst-launch-1.0 in the background, line-buffered into $1.out.
launch () {
  local out=$1
  shift
  stdbuf -oL timeout "$limit" gst-launch-1.0 "$@" >"$out.out" 2>"$out.err" &
  pids+=($!)
  last_pid=$!
}

# The gst-launch-1.0 that launch() started as $1 (a `timeout` process):
# from /proc, so that the tests need no procps.
launched_pid () {
  local stat pid comm state ppid rest
  for stat in /proc/[0-9]*/stat; do
    read -r pid comm state ppid rest <"$stat" 2>/dev/null || continue
    if [ "$ppid" = "$1" ] && [ "$comm" = "(gst-launch-1.0)" ]; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# Waits (bounded) until the pipeline writing $1.out says it is PLAYING.
wait_playing () {
  local i
  for ((i = 0; i < limit * 10; i++)); do
    grep -q 'Setting pipeline to PLAYING' "$1.out" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Fresh runtime dir per case; a case ends with no socket in it.
new_case () {
  export XDG_RUNTIME_DIR="$work/run$((n_case + 1))"
  mkdir -m 700 "$XDG_RUNTIME_DIR"
  dir="$work/case$((n_case + 1))"
  mkdir "$dir"
}

no_socket_left () {
  [ -z "$(ls -A "$XDG_RUNTIME_DIR/zerocopy" 2>/dev/null)" ]
}

# $1: reference frames file, $2: received frames file.  The received ones
# must be the reference's frames from some point on, through the last: no
# frame missing, changed or reordered once the consumer is attached.
is_tail_of () {
  local n_ref n_got
  n_ref=$(wc -l <"$1")
  n_got=$(wc -l <"$2")
  [ "$n_got" -ge 1 ] && [ "$n_got" -le "$n_ref" ] \
      && tail -n "$n_got" "$1" | cmp -s - "$2"
}

caps="video/x-raw,width=320,height=240"
source="videotestsrc num-buffers=100 pattern=smpte"
ref="$work/ref"
timeout "$limit" gst-launch-1.0 -q $source ! "$caps" ! $sink >"$ref.out" 2>&1
frames "$ref.out" >"$ref.frames"
if [ "$(wc -l <"$ref.frames")" != 100 ]; then
  echo "Bail out! the in-process reference did not give 100 frames"
  exit 1
fi

# 1. A consumer that starts before its producer gets every frame, intact.
new_case
launch "$dir/cons" zcsrc channel=e2e ! $sink
cons=$last_pid
wait_playing "$dir/cons"
ok=$?
launch "$dir/prod" -q $source ! "$caps" ! zcsink channel=e2e \
    wait-for-consumer=true
prod=$last_pid
wait "$prod"; prod_rc=$?
wait "$cons"; cons_rc=$?
frames "$dir/cons.out" >"$dir/cons.frames"
[ $ok = 0 ] && [ $prod_rc = 0 ] && [ $cons_rc = 0 ] \
    && cmp -s "$ref.frames" "$dir/cons.frames" && no_socket_left
report $? "consumer started before the producer receives 100 frames of 320x240, byte-identical, then EOS"

# 2. Four consumers at once; each gets an unbroken run of identical frames
# through the last one, and EOS.
new_case
cons_pids=()
for i in 1 2 3 4; do
  launch "$dir/cons$i" zcsrc channel=fanout ! $sink
  cons_pids+=($last_pid)
done
ok=0
for i in 1 2 3 4; do
  wait_playing "$dir/cons$i" || ok=1
done
launch "$dir/prod" -q $source ! "$caps" ! zcsink channel=fanout \
    wait-for-consumer=true
wait "$last_pid" || ok=1
for i in 1 2 3 4; do
  wait "${cons_pids[$((i - 1))]}" || ok=1
  frames "$dir/cons$i.out" >"$dir/cons$i.frames"
  is_tail_of "$ref.frames" "$dir/cons$i.frames" || ok=1
done
[ $ok = 0 ] && no_socket_left
report $? "four consumers each receive identical frames through the last, then EOS"

# 3. reconnect=true: the consumer outlives its producer and receives the
# next producer's stream (num-buffers ends it after both).
new_case
launch "$dir/cons" zcsrc channel=again reconnect=true num-buffers=200 \
    ! $sink
cons=$last_pid
wait_playing "$dir/cons"
ok=$?
for run in 1 2; do
  launch "$dir/prod$run" -q $source ! "$caps" ! zcsink channel=again \
      wait-for-consumer=true
  wait "$last_pid" || ok=1
done
wait "$cons" || ok=1
frames "$dir/cons.out" >"$dir/cons.frames"
cat "$ref.frames" "$ref.frames" >"$dir/twice.frames"
[ $ok = 0 ] && cmp -s "$dir/twice.frames" "$dir/cons.frames" \
    && no_socket_left
report $? "reconnect=true consumer receives a first and then a restarted producer's stream, 200 frames identical"

# Runs $source_x ! $caps_x in-process into $1.frames; bails out unless it
# gave $2 frames (the reference is broken, not the plugin).
reference () {
  timeout "$limit" gst-launch-1.0 -q $source_x ! "$caps_x" ! $sink \
      >"$1.out" 2>&1
  frames "$1.out" >"$1.frames"
  if [ "$(wc -l <"$1.frames")" != "$2" ]; then
    echo "Bail out! the in-process reference $1 did not give $2 frames"
    exit 1
  fi
}

# A consumer started first, then a producer of $source_x ! $caps_x on
# channel $1: every frame must arrive, identical to the reference $2.
consumer_first () {
  local ok cons
  launch "$dir/cons" zcsrc channel="$1" ! $sink
  cons=$last_pid
  wait_playing "$dir/cons"
  ok=$?
  launch "$dir/prod" -q $source_x ! "$caps_x" ! zcsink channel="$1" \
      wait-for-consumer=true
  wait "$last_pid" || ok=1
  wait "$cons" || ok=1
  frames "$dir/cons.out" >"$dir/cons.frames"
  [ $ok = 0 ] && cmp -s "$2.frames" "$dir/cons.frames" && no_socket_left
}

# 4. 3840x2160: blocks grow to 12 MB frames; a moving pattern makes every
# frame differ, so a lost or repeated frame shows.
caps_x="video/x-raw,format=I420,width=3840,height=2160,framerate=30/1"
source_x="videotestsrc num-buffers=15 pattern=smpte horizontal-speed=16"
reference "$work/ref4k" 15
new_case
consumer_first uhd "$work/ref4k"
report $? "15 frames of 3840x2160 I420 arrive byte-identical, then EOS"

# 5. Raw audio: no frame size in the caps, so zcsink copies every buffer
# into a block (the allocator-only path); default buffer sizes.
caps_x="audio/x-raw,format=S16LE,rate=48000,channels=2"
source_x="audiotestsrc num-buffers=50"
reference "$work/refaudio" 50
new_case
consumer_first audio "$work/refaudio"
report $? "50 buffers of S16LE 48 kHz stereo audio arrive byte-identical, then EOS"

# 6. EOS then NULL, as a user stops a live producer: gst-launch-1.0 -e
# turns SIGINT into EOS; the consumer gets it and both exit 0 with no error
# or warning on either bus.
new_case
launch "$dir/prod" -e videotestsrc is-live=true pattern=ball \
    ! video/x-raw,width=320,height=240,framerate=30/1 ! zcsink channel=stop
prod=$last_pid
launch "$dir/cons" -e zcsrc channel=stop ! $sink
cons=$last_pid
ok=1
for ((i = 0; i < limit * 10; i++)); do
  if [ "$(frames "$dir/cons.out" | wc -l)" -ge 5 ]; then
    ok=0
    break
  fi
  sleep 0.1
done
# SIGINT to gst-launch-1.0 itself, as Ctrl-C would send it: `timeout`
# relays a signal both to its child and to its process group, and under
# load the second SIGINT lands after gst-launch-1.0 has handled the first
# and put the default action back (it dies, exit 130).
kill -INT "$(launched_pid "$prod")" || ok=1
wait "$prod" || ok=1
wait "$cons" || ok=1
[ $ok = 0 ] && grep -q '^Got EOS from element' "$dir/prod.out" \
    && grep -q '^Got EOS from element' "$dir/cons.out" \
    && ! grep -qE '^(ERROR|WARNING)' "$dir/prod.out" "$dir/prod.err" \
        "$dir/cons.out" "$dir/cons.err" \
    && no_socket_left
report $? "gst-launch-1.0 -e: SIGINT to a live producer sends EOS to the consumer; both reach NULL and exit 0 with no error"

# 7. With GST_TRACERS=leaks (as the test suite runs this), every
# gst-launch-1.0 above reported at exit any buffer, memory, caps or element
# still alive: none may have.
if [ "${GST_TRACERS:-}" = leaks ]; then
  new_case
  ! grep -l 'Leaks detected' "$work"/*/*.err
  report $? "no producer or consumer process leaked a GstObject or GstMiniObject (leaks tracer)"
fi

echo "1..$n_case"
[ $failed = 0 ]
