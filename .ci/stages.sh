# Sourced by .ci/run. `stage NAME COMMAND…` runs COMMAND, prints its wall time when it ends and returns
# its status; on exit the wall time of every stage and the total are printed, failed or not, and the
# exit status is kept.

log() { printf '\n=== %s ===\n' "$*"; }

STAGES=()
started_at=$SECONDS
duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
stage() {
  local name=$1 start=$SECONDS status=0
  shift
  log "$name"
  "$@" || status=$?
  local line
  line="$(printf '%-52s %8s' "$name" "$(duration $((SECONDS - start)))")"
  [ "$status" -eq 0 ] || line+="  FAILED (exit $status)"
  STAGES+=("$line")
  printf '=== %s ===\n' "$line"
  return "$status"
}
summary() {
  local status=$?
  printf '\n=== wall time per stage ===\n'
  printf '%s\n' "${STAGES[@]}"
  printf '%-52s %8s\n' "total" "$(duration $((SECONDS - started_at)))"
  exit "$status"
}
trap summary EXIT
