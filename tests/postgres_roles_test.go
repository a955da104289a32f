//go:build postgres

package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pgServer is a PostgreSQL of Debian's postgresql-15 in a temporary folder on
// 127.0.0.1, run as an unprivileged user, with the owner the chart's
// database has (a superuser, as the image's POSTGRES_USER is).
type pgServer struct {
	bin, dir string
	port     int
	asUser   []string // runuser prefix when the test runs as root
}

const pgBin = "/usr/lib/postgresql/15/bin"

func startPostgres(t *testing.T, owner, password string) *pgServer {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL 15 is not installed (hack/postgres-tests.sh installs it): %v", err)
	}
	dir, err := os.MkdirTemp("", "rhesis-pg-")
	require.NoError(t, err)
	s := &pgServer{bin: pgBin, dir: dir, port: freePort(t)}
	if me, _ := user.Current(); me != nil && me.Uid == "0" {
		// initdb refuses root: run the server as Debian's postgres user.
		s.asUser = []string{"runuser", "-u", "postgres", "--"}
		require.NoError(t, exec.Command("chown", "postgres", dir).Run())
	}
	pwfile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte(password+"\n"), 0o644))
	s.run(t, filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", owner, "--auth=scram-sha-256", "--pwfile="+pwfile)
	s.run(t, filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-w",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.port, dir), "start")
	t.Cleanup(func() {
		_ = s.command(filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "fast", "-w", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	return s
}

func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, s.asUser...), name), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (s *pgServer) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := s.command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}

// psql runs SQL as user; it returns the output and psql's error.
func (s *pgServer) psql(user, password, db string, sql ...string) (string, error) {
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-qtA"}
	for _, q := range sql {
		args = append(args, "-c", q)
	}
	cmd := exec.Command("psql", args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// renderedEnv is a container's environment as the kubelet would give it,
// resolved against the rendered ConfigMap and Secret.
func renderedEnv(t *testing.T, objects []manifest, ctr map[string]any) map[string]string {
	t.Helper()
	data := func(kind, field string) map[string]any {
		for _, m := range objects {
			if m.Kind() == kind {
				d, _ := m.Object[field].(map[string]any)
				return d
			}
		}
		t.Fatalf("no %s in the render", kind)
		return nil
	}
	cm, secret := data("ConfigMap", "data"), data("Secret", "stringData")
	env := map[string]string{}
	for k, v := range cm {
		env[k] = fmt.Sprint(v)
	}
	for _, e := range ctr["env"].([]any) {
		name := dig(e, "name").(string)
		switch {
		case dig(e, "valueFrom", "secretKeyRef") != nil:
			env[name] = fmt.Sprint(secret[dig(e, "valueFrom", "secretKeyRef", "key").(string)])
		case dig(e, "valueFrom", "configMapKeyRef") != nil:
			env[name] = fmt.Sprint(cm[dig(e, "valueFrom", "configMapKeyRef", "key").(string)])
		default:
			env[name] = fmt.Sprint(dig(e, "value"))
		}
	}
	return env
}

// tenantMigration is a stand-in for Rhesis's migrations: one table under a
// tenant-isolation policy as theirs are (ENABLE ROW LEVEL SECURITY, a policy
// on app.current_organization).
const tenantMigration = `from alembic import op
revision = "t1"
down_revision = None
def upgrade():
    op.execute("CREATE TABLE item (id serial primary key, organization_id text not null, name text)")
    op.execute("ALTER TABLE item ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY tenant_isolation ON item USING (organization_id = current_setting('app.current_organization', true))")
`

const alembicEnv = `import os
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
url = URL.create("postgresql", username=os.environ.get("ADMIN_DB_USER") or os.environ["APP_DB_USER"],
                 password=os.environ.get("ADMIN_DB_PASS") or os.environ["APP_DB_PASS"],
                 host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]), database=os.environ["DB_NAME"])
with create_engine(url).connect() as conn:
    context.configure(connection=conn, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
`

func alembicProject(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "alembic", "versions"), 0o755))
	for name, body := range map[string]string{
		"alembic.ini":             "[alembic]\nscript_location = %(here)s/alembic\n",
		"alembic/env.py":          alembicEnv,
		"alembic/script.py.mako":  "",
		"alembic/versions/t1_.py": tenantMigration,
		// As in Rhesis: the folder is a package that would shadow the library.
		"alembic/__init__.py": "",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// TestDatabaseRolesOnPostgres: the role set-up the chart renders (the
// backend's prepare-database init container, with its rendered environment)
// run against a real PostgreSQL. The application role cannot bypass a
// row-level-security policy on a table the owner's migration created;
// migrations run as the owner; a changed password takes effect; several pods
// setting the role up at once all succeed.
func TestDatabaseRolesOnPostgres(t *testing.T) {
	t.Parallel()
	objects := mustRender(t, envValues(t, "local"))
	var backend map[string]any
	for _, m := range objects {
		if m.Kind() == "Deployment" && m.Name() == "backend" {
			backend = m.Object
		}
	}
	require.NotNil(t, backend)
	prepare := dig(backend, "spec", "template", "spec", "initContainers", 0).(map[string]any)
	require.Equal(t, "prepare-database", prepare["name"])
	script := prepare["command"].([]any)[2].(string)
	env := renderedEnv(t, objects, prepare)
	owner, ownerPass, app := env["ADMIN_DB_USER"], env["ADMIN_DB_PASS"], env["APP_DB_USER"]
	require.NotEqual(t, owner, app, "the app must have a role of its own")

	pg := startPostgres(t, owner, ownerPass)
	_, err := pg.psql(owner, ownerPass, "postgres", fmt.Sprintf(`CREATE DATABASE "%s"`, env["DB_NAME"]))
	require.NoError(t, err)
	project := alembicProject(t)
	env["DB_HOST"], env["DB_PORT"], env["ALEMBIC_DIR"] = "127.0.0.1", strconv.Itoa(pg.port), project

	prepareDatabase := func(ctx context.Context, vars map[string]string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + project}
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waiting := prepareDatabase(ctx, env)
	var out strings.Builder
	waiting.Stdout, waiting.Stderr = &out, &out
	require.NoError(t, waiting.Start())
	// The role is set up before any migration; the script then waits for them.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "waiting for the migrations") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	require.Contains(t, out.String(), "role "+app+" ready")

	// The migration, as the migration Job runs it: as the owner.
	migrate := exec.Command("/usr/bin/python3", "-m", "alembic", "-c", filepath.Join(project, "alembic.ini"), "upgrade", "head")
	migrate.Dir = t.TempDir() // away from the alembic/ folder, which would shadow the library
	migrate.Env = []string{"PATH=/usr/bin:/bin", "ADMIN_DB_USER=" + owner, "ADMIN_DB_PASS=" + ownerPass,
		"DB_HOST=127.0.0.1", "DB_PORT=" + strconv.Itoa(pg.port), "DB_NAME=" + env["DB_NAME"]}
	m, err := migrate.CombinedOutput()
	require.NoError(t, err, string(m))
	require.NoError(t, waiting.Wait(), out.String())
	assert.Contains(t, out.String(), "database at the migrations of this image: t1")

	db := env["DB_NAME"]
	asOwner := func(sql ...string) string {
		o, err := pg.psql(owner, ownerPass, db, sql...)
		require.NoError(t, err, o)
		return o
	}
	asApp := func(sql ...string) (string, error) { return pg.psql(app, env["APP_DB_PASS"], db, sql...) }
	assert.Equal(t, owner, asOwner("SELECT tableowner FROM pg_tables WHERE tablename = 'item'"), "migrations run as the owner")
	assert.Equal(t, "f|f", asOwner(fmt.Sprintf("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = '%s'", app)))
	asOwner("INSERT INTO item (organization_id, name) VALUES ('org-a', 'a1'), ('org-a', 'a2'), ('org-b', 'b1')")

	got, err := asApp("SET app.current_organization = 'org-a'", "SELECT count(*) FROM item")
	require.NoError(t, err, got)
	assert.Equal(t, "2", got, "the app sees only its organisation's rows")
	got, err = asApp("SELECT count(*) FROM item")
	require.NoError(t, err, got)
	assert.Equal(t, "0", got, "no organisation, no rows")
	got, err = asApp("SET row_security = off", "SELECT count(*) FROM item")
	require.Error(t, err)
	assert.Contains(t, got, "query would be affected by row-level security policy")
	got, err = asApp("ALTER TABLE item DISABLE ROW LEVEL SECURITY")
	require.Error(t, err)
	assert.Contains(t, got, "must be owner")
	got, err = asApp("INSERT INTO item (organization_id, name) VALUES ('org-b', 'x')")
	require.Error(t, err, "the policy also guards writes: %s", got)
	assert.Equal(t, "3", asOwner("SELECT count(*) FROM item"))

	// A changed password, set up by four pods at once.
	rotated := map[string]string{}
	for k, v := range env {
		rotated[k] = v
	}
	rotated["APP_DB_PASS"] = "rotated p@ss'w\"rd"
	var runs []*exec.Cmd
	for range 4 {
		cmd := prepareDatabase(ctx, rotated)
		require.NoError(t, cmd.Start())
		runs = append(runs, cmd)
	}
	for _, cmd := range runs {
		assert.NoError(t, cmd.Wait())
	}
	got, err = pg.psql(app, rotated["APP_DB_PASS"], db, "SELECT current_user")
	require.NoError(t, err, got)
	assert.Equal(t, app, got)
	_, err = asApp("SELECT 1")
	assert.Error(t, err, "the old password no longer logs in")
}
