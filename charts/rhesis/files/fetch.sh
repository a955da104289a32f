#!/bin/sh
# A restore's first step, in rclone's image: fetches RESTORE_OBJECT (a name,
# or "latest": the newest copy that has its checksum) and its .sha256 from
# BACKUP_REMOTE into RESTORE_INBOX, and checks the SHA-256. A copy without a
# checksum, or whose bytes do not match it, is refused and nothing is left
# in the inbox, so the restore step has nothing to restore.
set -eu
fail() {
	echo "restore refused: $*" >&2
	rm -f "$RESTORE_INBOX"/rhesis-*
	exit 1
}
where=${BACKUP_REMOTE_URL:-$BACKUP_REMOTE}
name=${RESTORE_OBJECT:-latest}
if [ "$name" = latest ]; then
	name=$(rclone lsf --files-only --include 'rhesis-*.dump.gpg.sha256' "$BACKUP_REMOTE" | sort | tail -n 1) ||
		fail "listing $where did not complete (see rclone's error above)"
	name=${name%.sha256}
	[ -n "$name" ] || fail "$where holds no copy with a checksum"
fi
# copyto of an object that does not exist copies nothing and succeeds: what
# arrived is checked.
rclone copyto "$BACKUP_REMOTE/$name.sha256" "$RESTORE_INBOX/$name.sha256" && [ -s "$RESTORE_INBOX/$name.sha256" ] ||
	fail "$where/$name has no checksum beside it ($name.sha256): it is not a complete copy"
rclone copyto "$BACKUP_REMOTE/$name" "$RESTORE_INBOX/$name" && [ -f "$RESTORE_INBOX/$name" ] ||
	fail "fetching $where/$name did not complete (see rclone's error above), or it does not exist"
want=$(cut -d' ' -f1 "$RESTORE_INBOX/$name.sha256")
got=$(sha256sum <"$RESTORE_INBOX/$name" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "$where/$name has sha256 $got, not $want as its checksum says: the copy is damaged"
echo "fetched $where/$name ($(wc -c <"$RESTORE_INBOX/$name") bytes, sha256 $got)"
