#!/bin/sh
# The backup CronJob's command, in the database's own image: a dump of the
# database (PG* variables) in pg_dump's compressed custom format, restored
# with pg_restore. Written under a temporary name and renamed, so a dump that
# exists is complete; dumps older than BACKUP_RETENTION_DAYS are dropped.
set -eu
f=/backup/rhesis-$(date -u +%Y%m%dT%H%M%SZ).dump
pg_dump --format=custom --no-owner --file="$f.partial"
mv "$f.partial" "$f"
find /backup -name 'rhesis-*.dump' -mtime "+${BACKUP_RETENTION_DAYS}" -delete
ls -l /backup
