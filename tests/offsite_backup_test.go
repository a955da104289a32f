//go:build postgres

package tests

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The object store of the drills: SeaweedFS's S3 gateway, with one identity.
const s3AccessKey, s3SecretKey = "rhesis-backup", "rhesis-backup-secret"

// startSeaweed runs a SeaweedFS server (master, volume, filer and S3
// gateway) in a temporary folder on 127.0.0.1 and returns its S3 endpoint.
// It stops with the test, or earlier through the returned function.
func startSeaweed(t *testing.T) (endpoint string, stop func()) {
	t.Helper()
	weed, err := exec.LookPath("weed")
	require.NoError(t, err, "SeaweedFS is not on PATH (hack/postgres-tests.sh builds it: hack/toolchain.sh backup)")
	dir := t.TempDir()
	config := filepath.Join(dir, "s3.json")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`{"identities":[{"name":"backup","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`,
		s3AccessKey, s3SecretKey)), 0o600))
	port := func() string { return strconv.Itoa(freePort(t)) }
	s3 := port()
	cmd := exec.Command(weed, "server", "-dir="+dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+port(), "-master.port.grpc="+port(), "-volume.port="+port(), "-volume.port.grpc="+port(),
		"-volume.max=0", "-master.volumeSizeLimitMB=64",
		"-filer", "-filer.port="+port(), "-filer.port.grpc="+port(),
		// As S3 does: an upload to a bucket that does not exist is refused.
		"-s3", "-s3.port="+s3, "-s3.port.grpc="+port(), "-s3.config="+config, "-s3.autoCreateBucket=false")
	log, err := os.Create(filepath.Join(dir, "weed.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	endpoint = "http://127.0.0.1:" + s3
	deadline := time.Now().Add(90 * time.Second)
	for {
		// Ready when the gateway answers and the filer behind it takes a bucket.
		if resp, err := http.Get(endpoint); err == nil {
			_ = resp.Body.Close()
			if out, err := rcloneCmd(t, endpoint, s3SecretKey, "mkdir", "offsite:probe").CombinedOutput(); err == nil {
				break
			} else if time.Now().After(deadline) {
				raw, _ := os.ReadFile(log.Name())
				t.Fatalf("SeaweedFS did not take a bucket in 90 s: %s\n%s", out, raw)
			}
		} else if time.Now().After(deadline) {
			raw, _ := os.ReadFile(log.Name())
			t.Fatalf("SeaweedFS did not start in 90 s: %v\n%s", err, raw)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return endpoint, stop
}

// rcloneCmd is rclone with the remote "offsite" on the store, as the
// test's own client (creating buckets, looking at and damaging objects).
func rcloneCmd(t *testing.T, endpoint, secret string, args ...string) *exec.Cmd {
	cmd := exec.Command("rclone", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"RCLONE_CONFIG_OFFSITE_TYPE=s3", "RCLONE_CONFIG_OFFSITE_PROVIDER=Other", "RCLONE_CONFIG_OFFSITE_ENDPOINT=" + endpoint,
		"RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID=" + s3AccessKey, "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY=" + secret}
	return cmd
}

// rclone runs rclone and returns what it printed (its notices go to stderr).
func rclone(t *testing.T, endpoint string, args ...string) string {
	t.Helper()
	cmd := rcloneCmd(t, endpoint, s3SecretKey, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "rclone %v: %s", args, stderr.String())
	return strings.TrimSpace(string(out))
}

// objects lists the store's objects under the drill's prefix.
func objects(t *testing.T, endpoint string) []string {
	t.Helper()
	out := rclone(t, endpoint, "lsf", "--files-only", "offsite:rhesis-backups/prod")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// jobContainer is one rendered container's shell script and its environment.
type jobContainer struct {
	script string
	env    map[string]string
}

// run runs the container's script as its container would (sh -c), after
// a shell prefix (a ulimit) and with overrides; it returns the exit code and
// the log.
func (c jobContainer) run(t *testing.T, prefix string, override map[string]string) (int, string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", prefix+c.script)
	env := withOverrides(map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "TMPDIR": t.TempDir()}, c.env, override)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, string(out))
	return 0, string(out)
}

// withOverrides is base with each later map's entries set over it, in order.
func withOverrides(base map[string]string, overrides ...map[string]string) map[string]string {
	out := maps.Clone(base)
	for _, o := range overrides {
		maps.Copy(out, o)
	}
	return out
}

// offsiteDrill is the rendered backup (dump and upload) and restore (fetch
// and restore) of prod with off-site copies, pointed at the test's servers
// and folders, as the kubelet would give them their variables, volumes and
// the credentials Secret.
type offsiteDrill struct {
	dump, upload, fetch, restore jobContainer
}

func renderedOffsiteDrill(t *testing.T, s *pgServer, endpoint, passphrase string, maxCopies int) offsiteDrill {
	t.Helper()
	values := layer(envValues(t, "prod"), map[string]any{"backup": map[string]any{
		"keepInCluster": false,
		"remote": map[string]any{"url": "s3://rhesis-backups/prod", "endpoint": endpoint, "credentialsSecret": "offsite-credentials",
			"retentionDays": 7, "maxCopies": maxCopies},
		"encryption": map[string]any{"passphrase": map[string]any{"name": "rhesis-backup-key", "key": "passphrase"}},
		"restore":    map[string]any{"object": "latest"},
	}})
	objs := mustRender(t, values)
	containers := map[string]jobContainer{}
	for _, o := range objs {
		var pod any
		switch {
		case o.Kind() == "CronJob" && o.Name() == "postgres-backup":
			pod = o.Field("spec", "jobTemplate", "spec", "template", "spec")
		case o.Kind() == "Job" && strings.HasPrefix(o.Name(), "postgres-restore-"):
			pod = o.Field("spec", "template", "spec")
		default:
			continue
		}
		for _, list := range []string{"initContainers", "containers"} {
			ctrs, _ := dig(pod, list).([]any)
			for _, c := range ctrs {
				ctr := c.(map[string]any)
				if fmt.Sprint(dig(ctr, "command", 0)) != "sh" {
					continue
				}
				containers[ctr["name"].(string)] = jobContainer{script: dig(ctr, "command", 2).(string), env: renderedEnv(t, objs, ctr)}
			}
		}
	}
	for _, name := range []string{"postgres-backup", "upload", "fetch", "restore"} {
		require.Contains(t, containers, name, "the prod render with off-site copies has no container %s", name)
	}
	key := filepath.Join(t.TempDir(), "passphrase")
	require.NoError(t, os.WriteFile(key, []byte(passphrase), 0o400))
	outbox, inbox := t.TempDir(), t.TempDir()
	// The volumes, as the pod mounts them.
	mounts := map[string]string{"/outbox": outbox, "/inbox": inbox, "/etc/rhesis/backup-key/passphrase": key}
	// The credentials Secret's keys, as envFrom gives them.
	secret := map[string]string{"AWS_ACCESS_KEY_ID": s3AccessKey, "AWS_SECRET_ACCESS_KEY": s3SecretKey}
	for name, c := range containers {
		for k, v := range c.env {
			if m, ok := mounts[v]; ok {
				c.env[k] = m
			}
		}
		if name == "upload" || name == "fetch" {
			for k, v := range secret {
				c.env[k] = v
			}
		} else {
			c.env["PGHOST"], c.env["PGPORT"] = "127.0.0.1", strconv.Itoa(s.port)
		}
	}
	return offsiteDrill{containers["postgres-backup"], containers["upload"], containers["fetch"], containers["restore"]}
}

// backup runs the backup's two steps; it returns the upload's exit code and
// both logs.
func (d offsiteDrill) backup(t *testing.T, upload map[string]string) (int, string) {
	t.Helper()
	// A new second, so the dump is a new object.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	code, log := d.dump.run(t, "", nil)
	require.Zero(t, code, log)
	uploadCode, uploadLog := d.upload.run(t, "", upload)
	outbox := d.dump.env["BACKUP_OUTBOX"]
	entries, err := os.ReadDir(outbox)
	require.NoError(t, err)
	for _, e := range entries { // the pod's emptyDir goes with it
		require.NoError(t, os.Remove(filepath.Join(outbox, e.Name())))
	}
	return uploadCode, log + uploadLog
}

// restoreLatest runs the restore's two steps, as the Job does: the restore
// step only after the fetch succeeded.
func (d offsiteDrill) restoreFrom(t *testing.T, object string, restore map[string]string) (int, string) {
	t.Helper()
	inbox := d.fetch.env["RESTORE_INBOX"]
	defer func() {
		entries, _ := os.ReadDir(inbox)
		for _, e := range entries {
			_ = os.Remove(filepath.Join(inbox, e.Name()))
		}
	}()
	code, log := d.fetch.run(t, "", map[string]string{"RESTORE_OBJECT": object})
	if code != 0 {
		return code, log
	}
	code, restoreLog := d.restore.run(t, "", restore)
	return code, log + restoreLog
}

// TestOffsiteBackupOnPostgres: the rendered backup's own scripts dump a real
// PostgreSQL, encrypt the dump and copy it to a real S3-compatible server
// (SeaweedFS) with its checksum; the database is destroyed and the rendered
// restore's scripts bring every row back from the latest copy. A failed
// upload (wrong credentials, server down, bucket missing) fails with a clear
// line and leaves no copy that looks good; a damaged copy, a copy without
// its checksum and a wrong passphrase are refused and the database is left
// as it was; retention keeps copies by age and count.
func TestOffsiteBackupOnPostgres(t *testing.T) {
	const owner, password, passphrase = "rhesis-user", "test-db-password", "drill-passphrase-3f9c"
	s := startPostgres(t, owner, password)
	_, err := s.psql(owner, password, "postgres", `CREATE DATABASE "rhesis-db"`)
	require.NoError(t, err)
	_, err = s.psql(owner, password, "rhesis-db", drillData...)
	require.NoError(t, err)
	want, err := s.psql(owner, password, "rhesis-db", fingerprint)
	require.NoError(t, err)
	require.Contains(t, want, "test_run:4000:")

	endpoint, stopStore := startSeaweed(t)
	rclone(t, endpoint, "mkdir", "offsite:rhesis-backups")
	drill := renderedOffsiteDrill(t, s, endpoint, passphrase, 3)
	require.Equal(t, "offsite:rhesis-backups/prod", drill.upload.env["BACKUP_REMOTE"])
	require.Equal(t, "s3", drill.upload.env["RCLONE_CONFIG_OFFSITE_TYPE"])

	// Retention's subjects: a copy older than 7 days, and three of a day ago.
	seed := t.TempDir()
	for name, age := range map[string]time.Duration{
		"rhesis-20000101T000000Z.dump.gpg": 10 * 24 * time.Hour,
		"rhesis-20000102T000000Z.dump.gpg": 24 * time.Hour, "rhesis-20000103T000000Z.dump.gpg": 24 * time.Hour,
		"rhesis-20000104T000000Z.dump.gpg": 24 * time.Hour,
	} {
		for _, f := range []string{name, name + ".sha256"} {
			path := filepath.Join(seed, f)
			require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
			when := time.Now().Add(-age)
			require.NoError(t, os.Chtimes(path, when, when))
		}
	}
	rclone(t, endpoint, "copy", seed, "offsite:rhesis-backups/prod")
	require.Len(t, objects(t, endpoint), 8)

	start := time.Now()
	code, log := drill.backup(t, nil)
	require.Zero(t, code, log)
	t.Logf("backup:\n%s", log)
	assert.Regexp(t, `backup copied off-site: s3://rhesis-backups/prod/rhesis-\d{8}T\d{6}Z\.dump\.gpg \(\d+ bytes, sha256 [0-9a-f]{64}\)`, log)
	stored := objects(t, endpoint)
	t.Logf("objects after the backup: %v", stored)
	var copies []string
	for _, o := range stored {
		if strings.HasSuffix(o, ".dump.gpg") {
			copies = append(copies, o)
		}
	}
	// The new copy and the two newest seeded ones (3 copies), each with its checksum.
	require.Len(t, copies, 3, "retention: %v", stored)
	assert.NotContains(t, copies, "rhesis-20000101T000000Z.dump.gpg", "older than retentionDays")
	assert.NotContains(t, copies, "rhesis-20000102T000000Z.dump.gpg", "beyond maxCopies")
	assert.Len(t, stored, 6, "every copy has its checksum, and nothing else is left: %v", stored)
	latest := copies[len(copies)-1]
	require.Regexp(t, `^rhesis-\d{8}T\d{6}Z\.dump\.gpg$`, latest)

	// The object is encrypted (no pg_dump header), and its checksum matches.
	raw := []byte(rclone(t, endpoint, "cat", "offsite:rhesis-backups/prod/"+latest))
	assert.False(t, bytes.Contains(raw[:min(len(raw), 64)], []byte("PGDMP")), "the copy must not be a readable dump")
	sum := rclone(t, endpoint, "hashsum", "sha256", "--download", "offsite:rhesis-backups/prod/"+latest)
	checksum := rclone(t, endpoint, "cat", "offsite:rhesis-backups/prod/"+latest+".sha256")
	assert.Equal(t, strings.Fields(sum)[0], strings.Fields(checksum)[0])
	size := rclone(t, endpoint, "size", "--json", "offsite:rhesis-backups/prod/"+latest)
	t.Logf("copy %s: %s, sha256 %s", latest, size, strings.Fields(checksum)[0])

	// The database is lost; the latest copy brings it back.
	_, err = s.psql(owner, password, "postgres", `DROP DATABASE "rhesis-db"`, `CREATE DATABASE "rhesis-db"`)
	require.NoError(t, err)
	code, log = drill.restoreFrom(t, "latest", nil)
	require.Zero(t, code, log)
	restoredIn := time.Since(start)
	t.Logf("restore:\n%s", log)
	assert.Contains(t, log, "fetched s3://rhesis-backups/prod/"+latest)
	assert.Contains(t, log, "public.test_run 4000")
	assert.Contains(t, log, "public.organization 50")
	got, err := s.psql(owner, password, "rhesis-db", fingerprint)
	require.NoError(t, err)
	assert.Equal(t, want, got, "every row, checksum and the large object come back")
	t.Logf("fingerprint before %s; after the restore %s; from backup to restored %s", want, got, restoredIn.Round(time.Millisecond))

	// Uploads that fail: the Job fails, says why, and no new copy is left.
	// The pauses between rclone's retries are 1 s instead of the chart's 10 s,
	// so the drill is quick; the retries themselves are the chart's.
	quick := map[string]string{"RCLONE_RETRIES_SLEEP": "1s"}
	for _, c := range []struct {
		name     string
		override map[string]string
	}{
		{"wrong credentials", map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}},
		{"bucket missing", map[string]string{"BACKUP_REMOTE": "offsite:no-such-bucket/prod"}},
		{"server down", map[string]string{"RCLONE_CONFIG_OFFSITE_ENDPOINT": "http://127.0.0.1:" + strconv.Itoa(freePort(t))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := objects(t, endpoint)
			code, log := drill.backup(t, withOverrides(quick, c.override))
			t.Logf("%s:\n%s", c.name, log)
			assert.NotZero(t, code)
			assert.Contains(t, log, "backup upload failed: copying rhesis-")
			assert.Equal(t, before, objects(t, endpoint), "no new object, complete or not")
		})
	}

	// Restores that are refused change nothing.
	mark := func() {
		_, err := s.psql(owner, password, "rhesis-db", `INSERT INTO organization (name) VALUES ('written after the backup')`)
		require.NoError(t, err)
	}
	mark()
	current, err := s.psql(owner, password, "rhesis-db", fingerprint)
	require.NoError(t, err)
	t.Run("wrong passphrase", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "passphrase")
		require.NoError(t, os.WriteFile(wrong, []byte("not-the-passphrase"), 0o400))
		code, log := drill.restoreFrom(t, "latest", map[string]string{"BACKUP_PASSPHRASE_FILE": wrong})
		t.Logf("wrong passphrase:\n%s", log)
		assert.NotZero(t, code)
		assert.Contains(t, log, "restore refused: "+latest+" does not decrypt with the passphrase given")
	})
	t.Run("copy without checksum", func(t *testing.T) {
		bare := "rhesis-29990101T000000Z.dump.gpg"
		rclone(t, endpoint, "copyto", "offsite:rhesis-backups/prod/"+latest, "offsite:rhesis-backups/prod/"+bare)
		defer rclone(t, endpoint, "deletefile", "offsite:rhesis-backups/prod/"+bare)
		code, log := drill.restoreFrom(t, bare, nil)
		assert.NotZero(t, code)
		assert.Contains(t, log, "restore refused: s3://rhesis-backups/prod/"+bare+" has no checksum beside it")
		// latest passes over it, to the newest copy that has one.
		code, log = drill.fetch.run(t, "", map[string]string{"RESTORE_OBJECT": "latest"})
		require.Zero(t, code, log)
		assert.Contains(t, log, "fetched s3://rhesis-backups/prod/"+latest)
		entries, _ := os.ReadDir(drill.fetch.env["RESTORE_INBOX"])
		for _, e := range entries {
			_ = os.Remove(filepath.Join(drill.fetch.env["RESTORE_INBOX"], e.Name()))
		}
	})
	t.Run("damaged copy", func(t *testing.T) {
		damaged := filepath.Join(t.TempDir(), latest)
		flipped := append([]byte{}, raw...)
		flipped[len(flipped)/2] ^= 0xff
		require.NoError(t, os.WriteFile(damaged, flipped, 0o644))
		rclone(t, endpoint, "copyto", damaged, "offsite:rhesis-backups/prod/"+latest)
		code, log := drill.restoreFrom(t, "latest", nil)
		t.Logf("damaged copy:\n%s", log)
		assert.NotZero(t, code)
		assert.Contains(t, log, "restore refused: s3://rhesis-backups/prod/"+latest+" has sha256 ")
		assert.Contains(t, log, "the copy is damaged")
		entries, err := os.ReadDir(drill.fetch.env["RESTORE_INBOX"])
		require.NoError(t, err)
		assert.Empty(t, entries, "a refused copy is not left for the restore step")
	})
	after, err := s.psql(owner, password, "rhesis-db", fingerprint)
	require.NoError(t, err)
	assert.Equal(t, current, after, "refused restores leave the database as it was")

	// The store goes away mid-life: the next backup fails, loudly.
	stopStore()
	code, log = drill.backup(t, quick)
	assert.NotZero(t, code, log)
	assert.Contains(t, log, "backup upload failed:")
}
