# Sourced by the with-*.sh scripts: `stop_on_exit PID DIR` stops the process they
# started, by its PID, and removes its scratch folder when the script exits, also
# when the command it ran failed; `stop_also PID` adds another process to stop.
stop_on_exit() {
  stopped_pids=("$1")
  scratch_dir=$2
  trap stop_started EXIT
}

stop_also() {
  stopped_pids+=("$1")
}

stop_started() {
  for stopped_pid in "${stopped_pids[@]}"; do
    kill "$stopped_pid" 2>/dev/null || true
    wait "$stopped_pid" 2>/dev/null || true
  done
  rm -rf "$scratch_dir"
}
