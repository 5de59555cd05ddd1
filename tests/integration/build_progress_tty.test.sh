#!/usr/bin/env bash
# --progress=tty: plain lines scroll above a footer of running steps with live timers
# (redrawn in place); --progress=auto picks tty on a terminal (a pty from script(1)) and
# plain otherwise.
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
cb import "$rootfs" busybox:1.36 >/dev/null
mkdir "$work/ctx"
printf 'FROM busybox:1.36\nRUN echo step-output && sleep 0.7\nRUN true\n' >"$work/ctx/Dockerfile"

esc=$'\x1b'
cb build --progress=tty --no-cache "$work/ctx" >"$work/tty.log" 2>&1 || { cat "$work/tty.log"; fail "tty build"; }
# The footer names the running step with a timer; it is erased (cursor up, clear line)
# before each redraw, so several timer values of the sleeping step appear.
grep -q "$esc\[36m => #3 \[stage-0 2/3\] RUN echo step-output && sleep 0.7 [0-9.]*s" "$work/tty.log" ||
  { cat -v "$work/tty.log"; fail "no live footer for the running step"; }
[ "$(grep -o "=> #3 [^$esc]* [0-9.]*s" "$work/tty.log" | sort -u | wc -l)" -ge 3 ] ||
  { cat -v "$work/tty.log"; fail "the footer timer was not redrawn while the step ran"; }
grep -q "$esc\[1A$esc\[2K" "$work/tty.log" || fail "footer not erased before redraw"
grep -q '#3 [0-9.]* step-output' "$work/tty.log" || { cat -v "$work/tty.log"; fail "step output not shown"; }
grep -q '#3 DONE [0-9.]*s' "$work/tty.log" || fail "no DONE line"
grep -q '2 steps, 0 cached, 2 executed' "$work/tty.log" || { cat -v "$work/tty.log"; fail "no summary line"; }

# auto: a terminal gets the live view, a file gets plain lines.
script -qec "'$CBUILD' --root '$work/root' build --no-cache '$work/ctx'" /dev/null >"$work/auto-tty.log" 2>&1 ||
  { cat -v "$work/auto-tty.log"; fail "auto build on a pty"; }
grep -q "$esc\[36m => #" "$work/auto-tty.log" || { cat -v "$work/auto-tty.log"; fail "auto on a terminal is not tty"; }
cb build --no-cache "$work/ctx" >"$work/auto-plain.log" 2>&1 || fail "auto build to a file"
grep -q "$esc" "$work/auto-plain.log" && fail "auto to a file printed escape sequences"
grep -q '^#3 DONE' "$work/auto-plain.log" || { cat "$work/auto-plain.log"; fail "auto to a file is not plain"; }
echo "tty progress as expected"
