#!/bin/sh
# The backup's upload, in rclone's image: copies the encrypted dump the dump
# step left in BACKUP_OUTBOX to BACKUP_REMOTE (the rclone remote "offsite",
# configured by the RCLONE_CONFIG_OFFSITE_* variables), reads it back and
# compares its SHA-256, and only then writes the checksum beside it: a copy
# is good when its .sha256 exists and matches, and a failed upload deletes
# what it wrote. Then remote copies older than BACKUP_REMOTE_RETENTION_DAYS,
# or beyond the newest BACKUP_REMOTE_MAX_COPIES, are deleted.
set -eu
fail() {
	echo "backup upload failed: $*" >&2
	exit 1
}
where=${BACKUP_REMOTE_URL:-$BACKUP_REMOTE}
set -- "$BACKUP_OUTBOX"/rhesis-*.dump.gpg
[ -f "$1" ] || fail "no encrypted dump in $BACKUP_OUTBOX (the dump step writes it)"
f=$1
name=${f##*/}
want=$(cut -d' ' -f1 "$f.sha256")
if ! rclone copyto "$f" "$BACKUP_REMOTE/$name"; then
	rclone deletefile "$BACKUP_REMOTE/$name" 2>/dev/null || true
	fail "copying $name to $where did not complete (see rclone's error above: credentials, endpoint, bucket); no copy was left there"
fi
got=$(rclone hashsum sha256 --download "$BACKUP_REMOTE/$name" | cut -d' ' -f1) || got=""
if [ "$got" != "$want" ]; then
	rclone deletefile "$BACKUP_REMOTE/$name" 2>/dev/null || true
	fail "$name read back from $where with sha256 ${got:-(unreadable)}, not $want; the copy was deleted"
fi
rclone copyto "$f.sha256" "$BACKUP_REMOTE/$name.sha256" ||
	fail "writing $name.sha256 to $where did not complete; $name stays there without a checksum, which a restore refuses"
echo "backup copied off-site: $where/$name ($(wc -c <"$f") bytes, sha256 $want)"

# Retention: by age, then by count; the copy just written is never deleted.
rclone delete --min-age "${BACKUP_REMOTE_RETENTION_DAYS}d" --filter "- $name*" --filter '+ rhesis-*.dump.gpg*' --filter '- *' "$BACKUP_REMOTE" ||
	fail "deleting copies older than ${BACKUP_REMOTE_RETENTION_DAYS} days from $where did not complete"
rclone lsf --files-only --include 'rhesis-*.dump.gpg' "$BACKUP_REMOTE" | sort -r | tail -n "+$((BACKUP_REMOTE_MAX_COPIES + 1))" |
	while read -r old; do
		[ "$old" != "$name" ] || continue
		rclone deletefile "$BACKUP_REMOTE/$old.sha256" 2>/dev/null || true
		rclone deletefile "$BACKUP_REMOTE/$old" || fail "deleting $old from $where (beyond ${BACKUP_REMOTE_MAX_COPIES} copies) did not complete"
	done
echo "copies at $where: $(rclone lsf --files-only --include 'rhesis-*.dump.gpg' "$BACKUP_REMOTE" | wc -l)"
