#!/bin/sh
# A restore's second step, in the database's image: decrypts the copy the
# fetch step checked (RESTORE_INBOX) with the passphrase, checks that it
# reads as a dump, then restores it into the database (PG* variables) in one
# transaction: a dump that does not decrypt or read is refused before the
# database is touched, and a restore that fails changes nothing. Prints the
# rows of every table afterwards.
set -eu
fail() {
	echo "restore refused: $*" >&2
	exit 1
}
set -- "$RESTORE_INBOX"/rhesis-*.dump.gpg
[ -f "$1" ] || fail "no fetched copy in $RESTORE_INBOX (the fetch step refused it, see its log)"
copy=$1
[ -r "${BACKUP_PASSPHRASE_FILE:-}" ] || fail "the passphrase file ${BACKUP_PASSPHRASE_FILE:-(unset)} is not readable: backup.encryption.passphrase names the Secret and key"
dump=${TMPDIR:-/tmp}/restore.dump
trap 'rm -f "$dump"' EXIT
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
gpg --batch --quiet --no-symkey-cache --pinentry-mode loopback --passphrase-file "$BACKUP_PASSPHRASE_FILE" \
	--decrypt --output "$dump" "$copy" || fail "${copy##*/} does not decrypt with the passphrase given (a wrong key?); the database was not touched"
rm -rf "$GNUPGHOME"
pg_restore --list "$dump" >/dev/null || fail "${copy##*/} decrypts but is no dump pg_restore reads; the database was not touched"
echo "restoring ${copy##*/} into ${PGDATABASE} on ${PGHOST}:${PGPORT:-5432}"
pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --dbname="$PGDATABASE" "$dump" ||
	fail "pg_restore of ${copy##*/} failed (see above); the transaction was rolled back and the database is as it was"
echo "restored ${copy##*/}; rows per table:"
psql --no-psqlrc --quiet --tuples-only --no-align --field-separator=' ' --dbname="$PGDATABASE" <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
\gexec
SQL
