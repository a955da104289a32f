package monitoring

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// pgBin holds Debian's postgresql-15 (hack/monitoring-tests.sh installs it).
const pgBin = "/usr/lib/postgresql/15/bin"

// exporters scrapes the chart's two exporters, built at the versions its
// images carry and run with the rendered containers' environment, against a
// real PostgreSQL and a real Redis holding a task in every Celery queue.
func exporters(t *testing.T, inv inventory) {
	t.Helper()
	objects := render(t, variant{"prod", "prod", map[string]any{"monitoring": map[string]any{"enabled": true}}})

	pg := exporterContainer(t, objects, "postgres")
	env := containerEnv(t, objects, pg)
	pgPort := startPostgres(t, env["DATA_SOURCE_USER"], env["DATA_SOURCE_PASS"])
	env["DATA_SOURCE_URI"] = withPort(t, env["DATA_SOURCE_URI"], storePort(t, objects, "postgres"), pgPort)
	families := scrape(t, inv, "postgres_exporter", startExporter(t, "postgres-exporter", env, "--web.listen-address"))
	require.Equal(t, []float64{1}, values(families, "pg_up", nil), "the rendered exporter logs in to PostgreSQL")

	redis := exporterContainer(t, objects, "redis")
	env = containerEnv(t, objects, redis)
	redisPort := startRedis(t, env["REDIS_PASSWORD"])
	for _, key := range strings.Split(env["REDIS_EXPORTER_CHECK_SINGLE_KEYS"], ",") {
		queue := strings.TrimPrefix(key, "db0=")
		redisCLI(t, redisPort, env["REDIS_PASSWORD"], "LPUSH", queue, `{"task": "waiting"}`)
	}
	env["REDIS_ADDR"] = withPort(t, env["REDIS_ADDR"], storePort(t, objects, "redis"), redisPort)
	families = scrape(t, inv, "redis_exporter", startExporter(t, "redis-exporter", env, "-web.listen-address"))
	require.Equal(t, []float64{1}, values(families, "redis_up", nil), "the rendered exporter logs in to Redis")
	for _, queue := range []string{"celery", "execution", "telemetry", "architect"} {
		require.Equal(t, []float64{1}, values(families, "redis_key_size", map[string]string{"db": "db0", "key": queue}),
			"the length of the queue %s", queue)
	}
}

// values are the samples of a family whose labels include want.
func values(families map[string]*dto.MetricFamily, name string, want map[string]string) []float64 {
	var out []float64
	for _, m := range families[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && have[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			out = append(out, m.GetGauge().GetValue())
		case m.GetUntyped() != nil:
			out = append(out, m.GetUntyped().GetValue())
		case m.GetCounter() != nil:
			out = append(out, m.GetCounter().GetValue())
		}
	}
	return out
}

// exporterContainer is the exporter beside a store, as rendered.
func exporterContainer(t *testing.T, objects []map[string]any, store string) map[string]any {
	t.Helper()
	for _, c := range dig(object(t, objects, "Deployment", store), "spec", "template", "spec", "containers").([]any) {
		if dig(c, "name") == "exporter" {
			return c.(map[string]any)
		}
	}
	t.Fatalf("no exporter beside %s", store)
	return nil
}

// storePort is the store container's port, the one the exporter's address names.
func storePort(t *testing.T, objects []map[string]any, store string) int {
	t.Helper()
	port := dig(object(t, objects, "Deployment", store), "spec", "template", "spec", "containers", 0, "ports", 0, "containerPort")
	require.NotNil(t, port, "%s's port", store)
	return int(port.(float64))
}

// withPort moves an address from the pod's port to the test server's.
func withPort(t *testing.T, address string, from, to int) string {
	t.Helper()
	old := fmt.Sprintf("127.0.0.1:%d", from)
	require.Contains(t, address, old)
	return strings.Replace(address, old, fmt.Sprintf("127.0.0.1:%d", to), 1)
}

// containerEnv is a container's environment as the kubelet gives it, its
// secret references read from the rendered Secret.
func containerEnv(t *testing.T, objects []map[string]any, c map[string]any) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c["env"].([]any) {
		name := dig(e, "name").(string)
		if ref := dig(e, "valueFrom", "secretKeyRef"); ref != nil {
			secret := object(t, objects, "Secret", dig(ref, "name").(string))
			key := dig(ref, "key").(string)
			if v, ok := dig(secret, "stringData", key).(string); ok {
				env[name] = v
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(dig(secret, "data", key).(string))
			require.NoError(t, err)
			env[name] = string(raw)
			continue
		}
		env[name], _ = dig(e, "value").(string)
	}
	return env
}

// startPostgres runs PostgreSQL 15 in a temporary folder on 127.0.0.1 with
// the chart's owner role, and returns its port.
func startPostgres(t *testing.T, owner, password string) int {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL 15 is not installed (hack/monitoring-tests.sh installs it): %v", err)
	}
	dir, err := os.MkdirTemp("", "rhesis-monitoring-pg-")
	require.NoError(t, err)
	var asUser []string
	if me, _ := user.Current(); me != nil && me.Uid == "0" {
		// initdb refuses root: run the server as Debian's postgres user.
		asUser = []string{"runuser", "-u", "postgres", "--"}
		require.NoError(t, exec.Command("chown", "postgres", dir).Run())
	}
	run := func(args ...string) *exec.Cmd {
		argv := append(append([]string{}, asUser...), args...)
		return exec.Command(argv[0], argv[1:]...)
	}
	port := freePort(t)
	pwfile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte(password+"\n"), 0o644))
	data := filepath.Join(dir, "data")
	out, err := run(filepath.Join(pgBin, "initdb"), "-D", data, "-U", owner, "--auth=scram-sha-256", "--pwfile="+pwfile).CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)
	out, err = run(filepath.Join(pgBin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dir), "start").CombinedOutput()
	require.NoError(t, err, "pg_ctl start: %s", out)
	t.Cleanup(func() {
		_ = run(filepath.Join(pgBin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	return port
}

// startRedis runs Debian's redis-server on 127.0.0.1 with that password and
// no persistence, and returns its port.
func startRedis(t *testing.T, password string) int {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--requirepass", password, "--save", "", "--appendonly", "no")
	require.NoError(t, cmd.Start(), "redis-server (hack/monitoring-tests.sh installs it)")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, func() bool {
		return exec.Command("redis-cli", "-p", fmt.Sprint(port), "-a", password, "--no-auth-warning", "PING").Run() == nil
	}, "redis-server on port %d", port)
	return port
}

func redisCLI(t *testing.T, port int, password string, args ...string) {
	t.Helper()
	argv := append([]string{"-p", fmt.Sprint(port), "-a", password, "--no-auth-warning"}, args...)
	out, err := exec.Command("redis-cli", argv...).CombinedOutput()
	require.NoError(t, err, "redis-cli %v: %s", args, out)
}

// startExporter runs a built exporter with env on a free port and returns
// its metrics address.
func startExporter(t *testing.T, name string, env map[string]string, listenFlag string) string {
	t.Helper()
	address := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(tool(t, name), listenFlag+"="+address)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	log, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("%s's log:\n%s", name, out)
		}
	})
	url := "http://" + address + "/metrics"
	waitFor(t, func() bool {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, "%s at %s", name, url)
	return url
}

// scrape adds every family the exporter serves at url, with its labels and
// those the Prometheus Operator adds.
func scrape(t *testing.T, inv inventory, source, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	textParser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := textParser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, "parsing %s", url)
	for name, f := range families {
		inv.add(name, source+" scrape", serviceMonitorLabels...)
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				inv.add(name, source+" scrape", l.GetName())
			}
		}
	}
	t.Logf("%s: %d metric families", source, len(families))
	return families
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, ok func() bool, what string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for "+what, args...)
}
