#!/bin/sh
# Retrain on a schedule: `python -m training retrain` (train, gate, publish, purge) now, then
# every RETRAIN_INTERVAL_S seconds (default 604800 = weekly, the original plan's "Retrain
# models weekly with new data"), measured from the start of the previous run. A failed run is
# logged and the published models stay as they were; the loop carries on. Run by the compose
# service `retrain` (profile `retrain`; docs/retraining.md).
#
# Environment (defaults in brackets):
#   PYTHON              interpreter with this package   [/opt/conda/envs/hummingbot/bin/python]
#   RETRAIN_DATA        candle folder to train on       [data/sample/binance]
#   MODELS_DIR          models folder (shared volume)   [models]
#   REPORTS_DIR         training reports                [reports]
#   RETRAIN_KEEP        versions kept per strategy      [5]
#   RETRAIN_INTERVAL_S  seconds between run starts      [604800]
#   RETRAIN_ARGS        more train options, e.g. "--publish gate --strategies dca,swing"  []
#   RETRAIN_ONCE        1: run once and exit with the run's status                         [0]
set -u
PYTHON="${PYTHON:-/opt/conda/envs/hummingbot/bin/python}"
DATA="${RETRAIN_DATA:-data/sample/binance}"
MODELS="${MODELS_DIR:-models}"
REPORTS="${REPORTS_DIR:-reports}"
KEEP="${RETRAIN_KEEP:-5}"
INTERVAL="${RETRAIN_INTERVAL_S:-604800}"
ARGS="${RETRAIN_ARGS:-}"

case "$INTERVAL" in
  ''|*[!0-9]*) echo "retrain: RETRAIN_INTERVAL_S must be whole seconds, got '$INTERVAL'" >&2
               exit 2 ;;
esac

while :; do
  started=$(date +%s)
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) retrain: start (data $DATA, models $MODELS, keep $KEEP)"
  # ARGS is split into words on purpose: it holds several options
  # shellcheck disable=SC2086
  "$PYTHON" -m training retrain --data "$DATA" --models "$MODELS" --reports "$REPORTS" \
      --keep "$KEEP" --no-progress $ARGS
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) retrain: done"
  else
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) retrain: failed (exit $status); published models unchanged" >&2
  fi
  if [ "${RETRAIN_ONCE:-0}" = "1" ]; then
    exit "$status"
  fi
  wait_s=$(( INTERVAL - ($(date +%s) - started) ))
  [ "$wait_s" -lt 60 ] && wait_s=60
  echo "retrain: next run in $wait_s s"
  sleep "$wait_s"
done
