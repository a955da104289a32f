#!/bin/sh
# The backup's dump, in the database's own image: a dump of the database (PG*
# variables) in pg_dump's compressed custom format, restored with pg_restore.
# Written under a temporary name, read back, then renamed, so a dump that
# exists is complete; a failure removes the partial file, says why and fails
# the Job.
#   BACKUP_DIR              the claim: the dump is kept there, and dumps older
#                           than BACKUP_RETENTION_DAYS are dropped (unset: no claim)
#   BACKUP_OUTBOX           with BACKUP_PASSPHRASE_FILE: the dump encrypted for
#                           the upload (gpg, AES-256; the image carries gnupg:
#                           docker-library/postgres 16/bookworm/Dockerfile:18-25)
#                           and its SHA-256, which the upload copies off-site
set -eu
name=rhesis-$(date -u +%Y%m%dT%H%M%SZ).dump
dir=${BACKUP_DIR:-${TMPDIR:-/tmp}}
f=$dir/$name
fail() {
	echo "backup failed: $*" >&2
	exit 1
}
trap 'rm -f "$f.partial" "${BACKUP_OUTBOX:-/nonexistent}/$name.gpg.partial"; [ -n "${BACKUP_DIR:-}" ] || rm -f "$f"' EXIT
if ! pg_dump --format=custom --no-owner --file="$f.partial"; then
	fail "pg_dump of database ${PGDATABASE} on ${PGHOST}:${PGPORT:-5432} did not complete (see above); no dump was written"
fi
if ! pg_restore --list "$f.partial" >/dev/null; then
	fail "the dump of ${PGDATABASE} does not read back; no dump was written"
fi
mv "$f.partial" "$f"
echo "backup written: $f ($(wc -c <"$f") bytes)"
if [ -n "${BACKUP_DIR:-}" ]; then
	find "$BACKUP_DIR" -name 'rhesis-*.dump' -mtime "+${BACKUP_RETENTION_DAYS}" -delete
	ls -l "$BACKUP_DIR"
fi
[ -n "${BACKUP_OUTBOX:-}" ] || exit 0

# Encrypted before it leaves the pod, with the passphrase the operator holds;
# decrypted again and compared, so what goes out reads back.
[ -r "${BACKUP_PASSPHRASE_FILE:-}" ] || fail "the passphrase file ${BACKUP_PASSPHRASE_FILE:-(unset)} is not readable: backup.encryption.passphrase names the Secret and key"
out=$BACKUP_OUTBOX/$name.gpg
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
gpg_() { gpg --batch --quiet --no-symkey-cache --pinentry-mode loopback --passphrase-file "$BACKUP_PASSPHRASE_FILE" "$@"; }
gpg_ --symmetric --cipher-algo AES256 --compress-algo none --output "$out.partial" "$f" ||
	fail "encrypting the dump did not complete (see above); nothing was written for the upload"
plain=$(sha256sum <"$f" | cut -d' ' -f1)
back=$(gpg_ --decrypt "$out.partial" | sha256sum | cut -d' ' -f1)
[ "$plain" = "$back" ] || fail "the encrypted dump does not decrypt to the dump; nothing was written for the upload"
mv "$out.partial" "$out"
(cd "$BACKUP_OUTBOX" && sha256sum "$name.gpg" >"$name.gpg.sha256")
rm -rf "$GNUPGHOME"
echo "encrypted for the upload: $out ($(wc -c <"$out") bytes, sha256 $(cut -d' ' -f1 "$out.sha256"))"
