#!/bin/sh
# The backup CronJob's command, in the database's own image: a dump of the
# database (PG* variables) in pg_dump's compressed custom format, restored
# with pg_restore. Written under a temporary name, read back, then renamed,
# so a dump that exists is complete; a failure removes the partial file,
# says why and fails the Job. Dumps older than BACKUP_RETENTION_DAYS are
# dropped. BACKUP_DIR is where the claim is mounted.
set -eu
dir=${BACKUP_DIR:-/backup}
f=$dir/rhesis-$(date -u +%Y%m%dT%H%M%SZ).dump
trap 'rm -f "$f.partial"' EXIT
if ! pg_dump --format=custom --no-owner --file="$f.partial"; then
	echo "backup failed: pg_dump of database ${PGDATABASE} on ${PGHOST}:${PGPORT:-5432} did not complete (see above); no dump was written" >&2
	exit 1
fi
if ! pg_restore --list "$f.partial" >/dev/null; then
	echo "backup failed: the dump of ${PGDATABASE} does not read back; no dump was written" >&2
	exit 1
fi
mv "$f.partial" "$f"
find "$dir" -name 'rhesis-*.dump' -mtime "+${BACKUP_RETENTION_DAYS}" -delete
echo "backup written: $f ($(wc -c <"$f") bytes)"
ls -l "$dir"
