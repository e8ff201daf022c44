# Sourced by tools/run.sh and tools/chain.sh: `step LABEL COMMAND...` runs a command that may
# take a while, shows a spinner with the seconds spent on a terminal (stderr), then one line
# `  ✓ LABEL (12.3 s)` (or `  ✗ LABEL failed (status N, 1.2 s)`, or `  ✗ LABEL stopped by SIGINT
# (1.2 s)` for a step a signal ended, e.g. a Ctrl-C), and returns its status.
# Off a terminal (logs, tests) it prints `  … LABEL` before and the same line after.
_step_now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
_step_secs() { awk -v a="$1" -v b="$(_step_now)" 'BEGIN { printf "%.1f", b - a }'; }

step() {
  local label="$1"; shift
  local start status=0 pid frames='|/-\' i=0
  start="$(_step_now)"
  if [ -t 2 ]; then
    "$@" & pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      printf '\r  %s %s (%s s) ' "${frames:i++%4:1}" "$label" "$(_step_secs "$start")" >&2
      sleep 0.1
    done
    wait "$pid" || status=$?
    printf '\r\033[K' >&2
  else
    printf '  … %s\n' "$label" >&2
    "$@" || status=$?
  fi
  if [ "$status" = 0 ]; then
    printf '  ✓ %s (%s s)\n' "$label" "$(_step_secs "$start")" >&2
  elif [ "$status" -gt 128 ] && [ "$status" -lt 160 ]; then
    # ended by a signal (a Ctrl-C is SIGINT, status 130): said as such, not as a failure
    printf '  ✗ %s stopped by SIG%s (%s s)\n' "$label" "$(kill -l "$status")" \
      "$(_step_secs "$start")" >&2
  else
    printf '  ✗ %s failed (status %s, %s s)\n' "$label" "$status" "$(_step_secs "$start")" >&2
  fi
  return "$status"
}
