// Command bench times the program on the sandbox cluster, per stack and in
// both deploy modes: up from empty (to every workload Available), a no-op up,
// a preview, an up with refresh and a destroy, next to `helm upgrade --install
// --wait` of the same chart in the same round. Each figure is the median of
// several rounds, with min and max. A last row deploys prod with every
// autoscaler at its maximum on several simulated nodes, to show how the time
// grows with the pods. Run it through hack/bench.sh, which starts the sandbox.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"

	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// benchSecrets stand in for an operator's secrets in staging and prod.
var benchSecrets = map[string]string{
	"sessionSecretKey": "bench-session", "jwtSecretKey": "bench-jwt", "nextauthSecret": "bench-nextauth",
	"dbEncryptionKey": "YmVuY2gtZmVybmV0LWtleS0zMi1ieXRlcy1sb25nISE=", "dbPassword": "bench-db", "dbAppPassword": "bench-app-db", "redisPassword": "bench-redis", "auditHashKey": "bench-audit",
}

// The columns of a row.
const (
	upFromEmpty = "up from empty"
	noopUp      = "no-op up"
	preview     = "preview"
	refreshUp   = "up --refresh"
	destroy     = "destroy"
	helmInstall = "helm install --wait"
)

var columns = []string{upFromEmpty, noopUp, preview, refreshUp, destroy, helmInstall}

// scenario is one row: an environment, a deploy mode, extra config.
type scenario struct {
	name, env, mode string
	config          map[string]string
	nodes           int
}

// row holds every round's time per column.
type row struct {
	scenario
	times map[string][]time.Duration
}

func main() {
	rounds := flag.Int("rounds", 3, "rounds per row; each figure is their median")
	envs := flag.String("envs", "local,staging,prod", "environments, comma-separated")
	scaled := flag.Bool("scaled", true, "add prod with every autoscaler at its maximum on -nodes simulated nodes")
	nodes := flag.Int("nodes", 4, "simulated nodes of the scaled row")
	flag.Parse()

	root, err := os.Getwd()
	check(err)
	ctx := context.Background()
	check(os.Setenv("PULUMI_CONFIG_PASSPHRASE", "bench"))
	var scenarios []scenario
	for _, env := range strings.Split(*envs, ",") {
		for _, mode := range []string{"raw", "helm"} {
			scenarios = append(scenarios, scenario{name: env, env: env, mode: mode})
		}
	}
	if *scaled {
		atMax := map[string]string{}
		for c, max := range map[string]string{"frontend": "4", "backend": "6", "worker": "10"} {
			atMax[c+".autoscaling.minReplicas"] = max
			atMax[c+".autoscaling.maxReplicas"] = max
		}
		scenarios = append(scenarios, scenario{name: fmt.Sprintf("prod at max, %d nodes", *nodes), env: "prod", mode: "raw",
			config: atMax, nodes: *nodes})
	}
	rows := make([]row, len(scenarios))
	for i := range rows {
		rows[i] = row{scenario: scenarios[i], times: map[string][]time.Duration{}}
	}
	// Rounds outermost: every row and helm share each round's conditions.
	for round := 1; round <= *rounds; round++ {
		for i := range rows {
			benchRow(ctx, root, &rows[i], round)
		}
	}
	fmt.Printf("\nMedian (min–max) of %d rounds; %d CPUs, %s/%s.\n\n", *rounds, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Println("| stack | mode | " + strings.Join(columns, " | ") + " | up / helm |")
	fmt.Println("|---|---|" + strings.Repeat("---|", len(columns)+1))
	helm := map[string][]time.Duration{}
	for _, r := range rows {
		if h := r.times[helmInstall]; len(h) > 0 {
			helm[r.env] = h
		}
	}
	var prodUp, scaledUp time.Duration
	for _, r := range rows {
		cells := []string{r.name, r.mode}
		for _, c := range columns {
			cells = append(cells, cell(r.times[c]))
		}
		ratio := "–"
		if h, ok := helm[r.env]; ok && r.nodes == 0 {
			ratio = fmt.Sprintf("%.2f", median(r.times[upFromEmpty]).Seconds()/median(h).Seconds())
		}
		fmt.Println("| " + strings.Join(append(cells, ratio), " | ") + " |")
		switch {
		case r.nodes > 0:
			scaledUp = median(r.times[upFromEmpty])
		case r.env == "prod" && r.mode == "raw":
			prodUp = median(r.times[upFromEmpty])
		}
	}
	if prodUp > 0 && scaledUp > 0 {
		fmt.Printf("\nscaled / prod (raw, up from empty): %.2f\n", scaledUp.Seconds()/prodUp.Seconds())
	}
}

// benchRow runs one round of a row: the stack's operations in order, then
// (for rows without extra nodes) helm's install of the same environment.
func benchRow(ctx context.Context, root string, r *row, round int) {
	ns := fmt.Sprintf("bench-%s-%s-%d", r.env, r.mode, round)
	if r.nodes > 0 {
		ns = fmt.Sprintf("bench-scaled-%d", round)
		addNodes(r.nodes)
		defer removeNodes(r.nodes)
	}
	dir, err := os.MkdirTemp("", "rhesis-bench-")
	check(err)
	defer func() { _ = os.RemoveAll(dir) }()
	check(driver.CopyProject(root, dir))
	check(os.MkdirAll(filepath.Join(dir, "state"), 0o700))
	s, err := driver.Open(ctx, driver.Options{Stack: ns, ProjectDir: dir, Backend: "file://" + filepath.Join(dir, "state")})
	check(err)
	config := map[string]string{"environment": r.env, "deploy.namespace": ns, "deploy.mode": r.mode}
	if r.env != "local" {
		config["ingress.host"], config["ingress.tlsSecret"], config["ingress.className"] = "bench.test", "rhesis-tls", "nginx"
		config["storage.storageClass"] = "standard"
		// The bench destroys what it deployed: prod's kept volumes would refuse.
		config["database.postgresql.persistence.keep"] = "false"
	}
	for k, v := range r.config {
		config[k] = v
	}
	all := auto.ConfigMap{}
	for k, v := range config {
		all["rhesis:"+k] = auto.ConfigValue{Value: v}
	}
	if r.env != "local" {
		for k, v := range benchSecrets {
			all["rhesis:secrets."+k] = auto.ConfigValue{Value: v, Secret: true}
		}
	}
	check(s.SetAllConfigWithOptions(ctx, all, &auto.ConfigOptions{Path: true}))
	// A config the program refuses fails here, before any figure is taken.
	cfg, err := driver.LoadConfig(ctx, s, dir)
	if err != nil {
		check(fmt.Errorf("%s: %w", ns, err))
	}
	log, err := os.Create(filepath.Join(os.TempDir(), "rhesis-bench-"+ns+".log"))
	check(err)
	defer func() { _ = log.Close() }()

	label := fmt.Sprintf("round %d %s %s", round, r.name, r.mode)
	// As `rhesis up` and `rhesis preview` run them (`--skip-refresh` but for
	// the refresh column).
	up := func(refresh bool) func() error {
		return func() error {
			_, err := driver.Up(ctx, s, cfg, driver.UpOptions{SkipRefresh: !refresh, Progress: log, Errors: log})
			return err
		}
	}
	r.add(label, upFromEmpty, up(false))
	r.add(label, noopUp, up(false))
	r.add(label, preview, func() error {
		_, err := driver.Preview(ctx, s, driver.PreviewOptions{Progress: log, Errors: log})
		return err
	})
	r.add(label, refreshUp, up(true))
	r.add(label, destroy, func() error { _, err := s.Destroy(ctx, optdestroy.ProgressStreams(log)); return err })
	if r.nodes > 0 || r.mode != "raw" {
		return // one helm figure per environment and round, next to the raw row
	}
	hns := ns + "-helm"
	values := filepath.Join(root, "charts", "rhesis", "values-"+r.env+".yaml")
	args := []string{"upgrade", "--install", "rhesis", filepath.Join(root, "charts", "rhesis"),
		"--namespace", hns, "--create-namespace", "-f", values, "--wait", "--timeout", "10m"}
	if r.env != "local" {
		args = append(args, "--set", "ingress.host=bench.test", "--set", "ingress.tlsSecret=rhesis-tls", "--set", "ingress.className=nginx",
			"--set", "storage.storageClass=standard", "--set", "database.postgresql.persistence.keep=false")
		for k, v := range benchSecrets {
			args = append(args, "--set", "secrets."+k+"="+v)
		}
	}
	r.add(label, helmInstall, func() error { return run(log, "helm", args...) })
	check(run(log, "helm", "uninstall", "rhesis", "--namespace", hns, "--wait"))
	check(run(log, "kubectl", "delete", "namespace", hns, "--wait"))
}

// add times f as one sample of column c.
func (r *row) add(label, c string, f func() error) {
	start := time.Now()
	check(f())
	d := time.Since(start)
	fmt.Printf("%-40s %-20s %6.1f s\n", label, c, d.Seconds())
	r.times[c] = append(r.times[c], d)
}

// addNodes adds simulated nodes like the sandbox's own (kwok runs them).
func addNodes(n int) {
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("bench-node-%d", i)
		manifest := testutil.SimulatedNode(name)
		cmd := exec.Command("kubectl", "create", "-f", "-")
		cmd.Stdin = strings.NewReader(manifest)
		out, err := cmd.CombinedOutput()
		if err != nil && !strings.Contains(string(out), "AlreadyExists") {
			check(fmt.Errorf("adding node %s: %v: %s", name, err, out))
		}
	}
}

func removeNodes(n int) {
	for i := 1; i <= n; i++ {
		_ = exec.Command("kubectl", "delete", "node", fmt.Sprintf("bench-node-%d", i), "--wait=false").Run()
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// cell is "median (min–max)".
func cell(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f s (%.1f–%.1f)", median(ds).Seconds(), slices.Min(ds).Seconds(), slices.Max(ds).Seconds())
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
