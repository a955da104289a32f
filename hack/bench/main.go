// Command bench times the program on the sandbox cluster, per stack: up from
// empty to every workload Available, a no-op up, a preview, and next to them
// `helm upgrade --install --wait` of the project's chart with the same
// environment. Run it through hack/bench.sh, which starts the sandbox.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/rhesis-ai/rhesis-deploy/driver"
)

// benchSecrets stand in for an operator's secrets in staging and prod.
var benchSecrets = map[string]string{
	"sessionSecretKey": "bench-session", "jwtSecretKey": "bench-jwt", "nextauthSecret": "bench-nextauth",
	"dbEncryptionKey": "YmVuY2gtZmVybmV0LWtleS0zMi1ieXRlcy1sb25nISE=", "dbPassword": "bench-db", "dbAppPassword": "bench-app-db", "redisPassword": "bench-redis", "auditHashKey": "bench-audit",
}

type row struct {
	env                      string
	up, noop, preview, helmI time.Duration
}

func main() {
	root, err := os.Getwd()
	check(err)
	ctx := context.Background()
	check(os.Setenv("PULUMI_CONFIG_PASSPHRASE", "bench"))
	var rows []row
	for _, env := range []string{"local", "staging", "prod"} {
		rows = append(rows, benchEnv(ctx, root, env))
	}
	fmt.Println()
	fmt.Println("| stack | up from empty | no-op up | preview | helm upgrade --install --wait | up / helm |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %.1f s | %.1f s | %.1f s | %.1f s | %.2f |\n", r.env,
			r.up.Seconds(), r.noop.Seconds(), r.preview.Seconds(), r.helmI.Seconds(), r.up.Seconds()/r.helmI.Seconds())
	}
}

func benchEnv(ctx context.Context, root, env string) row {
	r := row{env: env}
	ns := "bench-" + env
	dir, err := os.MkdirTemp("", "rhesis-bench-")
	check(err)
	defer func() { _ = os.RemoveAll(dir) }()
	check(driver.CopyProject(root, dir))

	check(os.MkdirAll(filepath.Join(dir, "state"), 0o700))
	s, err := driver.Open(ctx, driver.Options{Stack: "bench-" + env, ProjectDir: dir, Backend: "file://" + filepath.Join(dir, "state")})
	check(err)
	set := func(k, v string, secret bool) {
		check(s.SetConfig(ctx, "rhesis:"+k, auto.ConfigValue{Value: v, Secret: secret}))
	}
	set("environment", env, false)
	set("namespace", ns, false)
	if env != "local" {
		set("ingress.host", "bench.test", false)
		set("ingress.tlsSecret", "rhesis-tls", false)
		set("storage.storageClass", "standard", false)
		// The bench destroys what it deployed: prod's kept volumes would refuse.
		set("postgres.persistence.keep", "false", false)
		for k, v := range benchSecrets {
			set(k, v, true)
		}
	}
	log, err := os.Create(filepath.Join(os.TempDir(), "rhesis-bench-"+env+".log"))
	check(err)
	defer func() { _ = log.Close() }()

	r.up = timed(env+" up from empty", func() error { _, err := s.Up(ctx, optup.ProgressStreams(log)); return err })
	r.noop = timed(env+" no-op up", func() error { _, err := s.Up(ctx, optup.ProgressStreams(log)); return err })
	r.preview = timed(env+" preview", func() error { _, err := s.Preview(ctx, optpreview.ProgressStreams(log)); return err })
	_, err = s.Destroy(ctx, optdestroy.ProgressStreams(log))
	check(err)

	hns := ns + "-helm"
	args := []string{"upgrade", "--install", "rhesis", filepath.Join(root, "charts", "rhesis"),
		"--namespace", hns, "--create-namespace", "-f", filepath.Join(root, "charts", "rhesis", "values-"+env+".yaml"), "--wait", "--timeout", "10m"}
	if env != "local" {
		args = append(args, "--set", "ingress.host=bench.test", "--set", "ingress.tlsSecret=rhesis-tls",
			"--set", "storage.storageClass=standard", "--set", "database.postgresql.persistence.keep=false")
		for k, v := range benchSecrets {
			args = append(args, "--set", "secrets."+k+"="+v)
		}
	}
	r.helmI = timed(env+" helm install --wait", func() error { return run(log, "helm", args...) })
	check(run(log, "helm", "uninstall", "rhesis", "--namespace", hns, "--wait"))
	check(run(log, "kubectl", "delete", "namespace", hns, "--wait"))
	return r
}

func timed(what string, f func() error) time.Duration {
	start := time.Now()
	check(f())
	d := time.Since(start)
	fmt.Printf("%-32s %6.1f s\n", what, d.Seconds())
	return d
}

func run(log *os.File, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
