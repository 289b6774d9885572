#!/usr/bin/env bash
# Back up the checkins PostgreSQL database to FOLDER/checkins-YYYYmmdd-HHMMSS.dump and keep the
# last 30 days. Reads the database from CHECKINS_DATABASE_URL (postgresql://user:pass@host/db).
#   deploy/backup.sh /var/backups/checkins
set -euo pipefail
folder="${1:?usage: backup.sh FOLDER}"
url="${CHECKINS_DATABASE_URL:?set CHECKINS_DATABASE_URL}"
url="${url/postgresql+psycopg:/postgresql:}"
mkdir -p "$folder"
out="$folder/checkins-$(date -u +%Y%m%d-%H%M%S).dump"
pg_dump --format=custom --no-owner --file="$out.partial" "$url"
mv "$out.partial" "$out"   # a half-written dump never looks like a backup
find "$folder" -name 'checkins-*.dump' -mtime +30 -delete
echo "backup written: $out"
