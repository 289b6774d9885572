#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database, then bring its schema up to date.
#   CHECKINS_DATABASE_URL=postgresql://checkins@127.0.0.1/checkins deploy/restore.sh FILE.dump
# Stop the service first (systemctl stop 'checkins*'); start it again afterwards.
set -euo pipefail
dump="${1:?usage: restore.sh FILE.dump}"
url="${CHECKINS_DATABASE_URL:?set CHECKINS_DATABASE_URL}"
url="${url/postgresql+psycopg:/postgresql:}"
checkins="${CHECKINS_BIN:-checkins}"
pg_restore --exit-on-error --no-owner --single-transaction --dbname="$url" "$dump"
"$checkins" --database "$url" init   # a backup from an older release is upgraded here
echo "restored $dump"
