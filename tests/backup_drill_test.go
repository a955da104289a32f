//go:build postgres

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderedBackupJob is the backup CronJob's container as the chart renders
// it for prod, pointed at a test server and folder.
func renderedBackupJob(t *testing.T, s *pgServer, dir string) jobContainer {
	t.Helper()
	objects, _, err := render(t, envValues(t, "prod"))
	require.NoError(t, err)
	var job jobContainer
	for _, o := range objects {
		if o.Kind() != "CronJob" || o.Name() != "postgres-backup" {
			continue
		}
		ctr := o.Field("spec", "jobTemplate", "spec", "template", "spec", "containers", 0).(map[string]any)
		job.script = dig(ctr, "command", 2).(string)
		job.env = renderedEnv(t, objects, ctr)
	}
	require.NotEmpty(t, job.script, "no backup CronJob in the prod render")
	job.env["PGHOST"], job.env["PGPORT"], job.env["BACKUP_DIR"] = "127.0.0.1", strconv.Itoa(s.port), dir
	return job
}

func dumps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "rhesis-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// drillData fills a database with what a restore must bring back: several
// tables with a few thousand rows, non-ASCII text, a large object.
var drillData = []string{
	`CREATE TABLE organization (id serial PRIMARY KEY, name text NOT NULL)`,
	`CREATE TABLE test_run (id serial PRIMARY KEY, organization_id int REFERENCES organization, prompt text, score numeric, created timestamptz DEFAULT now())`,
	`CREATE TABLE attachment (id serial PRIMARY KEY, name text, content oid)`,
	`INSERT INTO organization (name) SELECT 'org ' || i || ' – Größe 東京 🚀' FROM generate_series(1, 50) i`,
	`INSERT INTO test_run (organization_id, prompt, score) SELECT 1 + i % 50, repeat('prompt ' || i || ' ünïcödé ', 1 + i % 7), i / 7.0 FROM generate_series(1, 4000) i`,
	`INSERT INTO attachment (name, content) VALUES ('report.bin', lo_from_bytea(0, decode(repeat('00ff10ab', 20000), 'hex')))`,
}

// fingerprint is each table's row count and checksum, and the large object's.
const fingerprint = `SELECT string_agg(t, ' ' ORDER BY t) FROM (
  SELECT 'organization:' || count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) AS t FROM organization o
  UNION ALL SELECT 'test_run:' || count(*) || ':' || md5(string_agg(r::text, ',' ORDER BY id)) FROM test_run r
  UNION ALL SELECT 'attachment:' || count(*) || ':' || md5(string_agg(a.name || md5(lo_get(a.content)), ',' ORDER BY id)) FROM attachment a
) x`

// readmeRestoreFlags are the flags of the restore docs/deploying.md documents.
func readmeRestoreFlags(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "deploying.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("pg_restore ([^`]+)`").FindSubmatch(raw)
	require.NotNil(t, m, "docs/deploying.md documents no pg_restore")
	var flags []string
	args := strings.Fields(string(m[1]))
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-U" || args[i] == "-d":
			i++ // the connection is the test server's
		case strings.HasPrefix(args[i], "-"):
			flags = append(flags, args[i])
		}
	}
	require.Contains(t, flags, "--single-transaction", "a failed restore must change nothing")
	return flags
}

func pgRestore(s *pgServer, owner, password, db, dump string, flags []string) (string, error) {
	args := append(append([]string{}, flags...), "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", owner, "-d", db, dump)
	cmd := exec.Command("pg_restore", args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBackupAndRestoreOnPostgres: the backup Job's own script, taken from
// the rendered CronJob, dumps a real database; docs/deploying.md's restore brings
// every row and the large object back into an empty database. A dump that
// fails (wrong password, server down, disk full) fails the Job with a clear
// line and leaves no file that looks like a dump; retention deletes only
// dumps older than the setting; a truncated dump is refused by the restore
// and changes nothing.
func TestBackupAndRestoreOnPostgres(t *testing.T) {
	t.Parallel()
	const owner, password = "rhesis-user", "test-db-password"
	s := startPostgres(t, owner, password)
	_, err := s.psql(owner, password, "postgres", `CREATE DATABASE "rhesis-db"`, `CREATE DATABASE restored`)
	require.NoError(t, err)
	_, err = s.psql(owner, password, "rhesis-db", drillData...)
	require.NoError(t, err)
	want, err := s.psql(owner, password, "rhesis-db", fingerprint)
	require.NoError(t, err)
	require.Contains(t, want, "test_run:4000:")

	dir := t.TempDir()
	job := renderedBackupJob(t, s, dir)
	require.Equal(t, owner, job.env["PGUSER"])
	require.Equal(t, password, job.env["PGPASSWORD"], "the Job's password is the database owner's")

	// An old dump beyond retention, a recent one within it, another file.
	old, recent := filepath.Join(dir, "rhesis-20000101T000000Z.dump"), filepath.Join(dir, "rhesis-20000102T000000Z.dump")
	other := filepath.Join(dir, "notes.txt")
	for path, age := range map[string]time.Duration{old: 10 * 24 * time.Hour, recent: 2 * 24 * time.Hour, other: 30 * 24 * time.Hour} {
		require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
		when := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(path, when, when))
	}

	code, log := job.run(t, "", nil)
	require.Zero(t, code, log)
	assert.Regexp(t, `backup written: .*/rhesis-\d{8}T\d{6}Z\.dump \(\d+ bytes\)`, log)
	got := dumps(t, dir)
	require.Len(t, got, 2, "the new dump and the recent one: %v", got)
	assert.NotContains(t, got, filepath.Base(old), "retention deletes the dump older than 7 days")
	assert.Contains(t, got, filepath.Base(recent), "retention keeps the dump within 7 days")
	assert.FileExists(t, other, "retention touches only dumps")
	var dump string
	for _, d := range got {
		if d != filepath.Base(recent) {
			dump = filepath.Join(dir, d)
		}
	}

	flags := readmeRestoreFlags(t)
	out, err := pgRestore(s, owner, password, "restored", dump, flags)
	require.NoError(t, err, out)
	restored, err := s.psql(owner, password, "restored", fingerprint)
	require.NoError(t, err)
	assert.Equal(t, want, restored, "every row, checksum and the large object come back")
	t.Logf("restored: %s", restored)

	// Failures: the Job fails, says why, and leaves no dump behind.
	for _, c := range []struct {
		name, prefix string
		override     map[string]string
	}{
		{"wrong password", "", map[string]string{"PGPASSWORD": "wrong"}},
		{"server down", "", map[string]string{"PGPORT": strconv.Itoa(freePort(t))}},
		// A file-size limit of 16 KiB: the dump's writes fail as on a full disk.
		{"disk full", "ulimit -f 32; ", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := dumps(t, dir)
			code, log := job.run(t, c.prefix, c.override)
			assert.NotZero(t, code, log)
			assert.Contains(t, log, "backup failed: pg_dump of database rhesis-db on 127.0.0.1")
			assert.ElementsMatch(t, before, dumps(t, dir), "no new file, and no partial one")
		})
	}

	// A truncated dump: the restore fails and the database keeps its data.
	raw, err := os.ReadFile(dump)
	require.NoError(t, err)
	truncated := filepath.Join(t.TempDir(), "truncated.dump")
	require.NoError(t, os.WriteFile(truncated, raw[:len(raw)/2], 0o644))
	out, err = pgRestore(s, owner, password, "restored", truncated, flags)
	assert.Error(t, err, "a truncated dump must be refused: %s", out)
	after, err := s.psql(owner, password, "restored", fingerprint)
	require.NoError(t, err)
	assert.Equal(t, want, after, "a refused restore changes nothing")
}
