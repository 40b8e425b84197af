# Sourced by the with-*.sh scripts: `stop_on_exit PID DIR` stops the process they
# started, by its PID, and removes its scratch folder when the script exits, also
# when the command it ran failed.
stop_on_exit() {
  stopped_pid=$1
  scratch_dir=$2
  trap stop_started EXIT
}

stop_started() {
  kill "$stopped_pid" 2>/dev/null || true
  wait "$stopped_pid" 2>/dev/null || true
  rm -rf "$scratch_dir"
}
