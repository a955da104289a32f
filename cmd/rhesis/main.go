// Command rhesis deploys the Rhesis stack by running the project's Pulumi
// program through the Automation API (no Go language plugin needed).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/preflight"
	"github.com/rhesis-ai/rhesis-deploy/restore"
	"github.com/rhesis-ai/rhesis-deploy/stack"
	"github.com/rhesis-ai/rhesis-deploy/summary"
)

const usage = `usage: rhesis [flags] <command>

Runs the Rhesis Pulumi program (stack.Program) with the Pulumi CLI, against the
cluster of the current kubeconfig context (KUBECONFIG). The state lives where
` + "`pulumi up`" + ` would keep it: --backend, PULUMI_BACKEND_URL, Pulumi.yaml's
backend, the backend of ` + "`pulumi login`" + `, else <project>/.pulumi-state;
every run says which.

Commands:
  up        refresh the state from the cluster (objects changed or deleted
            by hand are put back), then deploy the stack and print its
            outputs; a stack that keeps its data (database.postgresql.persistence.keep)
            is previewed first and refused when a volume claim, the database
            or the Helm release would be replaced or deleted, unless
            --allow-data-loss
  preview   show what up would change (--diff for property-level detail,
            --summary FILE for a Markdown summary), with the same data-loss
            check
  doctor    check the live cluster for what the stack needs and the chart
            does not make, before anything is created: the APIs of every
            object it renders, the namespace and its Pod Security level, the
            StorageClasses of its claims (ReadWriteMany where it asks for
            it), the IngressClass or the Gateway and whether it admits the
            routes, cert-manager issuers, the Secrets and ConfigMaps its pods
            refer to, quotas and limit ranges against its requests; each
            finding with its fix; exits 1 on a blocker (up and preview run
            it first and stop on a blocker, unless --skip-preflight)
  drift     list what differs between the state and the live cluster;
            exits 3 when something does (changes nothing)
  restore   replace the in-cluster database with an off-site copy
            (--object latest, or a copy's name): backend and worker are
            scaled to 0, the chart's restore Job checks the copy's checksum,
            decrypts it and restores it in one transaction, the deployed
            release's migrations run again, and the apps are scaled back; a
            refused copy leaves the database as it was (docs/backups.md)
  cancel    after a run was killed: clear the stack's lock once its process
            is gone (--force when it ran on another host), the operations it
            left pending and, in helm mode, a release left pending
  destroy   delete every object of the stack
  outputs   print the stack outputs as JSON
  images    print the image plan: what each image is named, and what is
            built from which Dockerfile and target and pushed (no Docker needed)
  migrate-config
            move every key of an earlier version to where it lives now: the
            chart's own path (rhesis:dbPassword to rhesis:secrets.dbPassword,
            rhesis:postgres to rhesis:database.postgresql) or rhesis:deploy
            (namespace, images.build); values and encryption kept

Exit codes: 0 done, 1 failed, 2 bad usage, 3 drift found.

Flags:
`

// exitDrift is drift's exit code when the cluster differs from the state.
const exitDrift = 3

var commands = []string{"up", "preview", "doctor", "drift", "restore", "cancel", "destroy", "outputs", "images", "migrate-config"}

func main() { os.Exit(run()) }

type cli struct {
	ctx       context.Context
	opts      driver.Options
	stack     auto.Stack
	command   string
	diff      bool
	secrets   bool
	summary   string
	events    string
	allowLoss bool
	noRefresh bool
	force     bool
	object    string
	// skipPreflight: up and preview do not run doctor's checks first.
	skipPreflight bool
}

func run() int {
	fs := flag.NewFlagSet("rhesis", flag.ContinueOnError)
	stackName := fs.String("stack", "local", "stack to operate on: local, staging, prod or your own")
	projectDir := fs.String("project", ".", "folder holding Pulumi.yaml, the stack files and charts/")
	backend := fs.String("backend", "", "state backend URL (default: as the Pulumi CLI chooses, else file://<project>/.pulumi-state)")
	c := &cli{}
	fs.BoolVar(&c.diff, "diff", false, "preview: show a property-level diff")
	fs.BoolVar(&c.secrets, "show-secrets", false, "outputs: show secret values")
	fs.StringVar(&c.summary, "summary", "", "preview: write a Markdown summary of the changes to this file")
	fs.StringVar(&c.events, "events", "", "preview: write the engine's events as JSON lines to this file")
	fs.BoolVar(&c.allowLoss, "allow-data-loss", false, "up, preview: let a stack that keeps its data replace or delete data-bearing resources")
	fs.BoolVar(&c.noRefresh, "skip-refresh", false, "up, preview: do not refresh the state from the cluster first")
	fs.BoolVar(&c.skipPreflight, "skip-preflight", false, "up, preview: do not check the cluster for what the stack needs first (see doctor)")
	fs.StringVar(&c.object, "object", "latest", "restore: the off-site copy, latest or its name (rhesis-<time>.dump.gpg)")
	fs.BoolVar(&c.force, "force", false, "cancel: clear a lock even when its process cannot be seen to be gone")
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		return helpOr2(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	// Flags may also follow the command: rhesis preview --diff.
	c.command = fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return helpOr2(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "rhesis: unexpected arguments %v\n\n", fs.Args())
		fs.Usage()
		return 2
	}
	if !slices.Contains(commands, c.command) {
		fmt.Fprintf(os.Stderr, "rhesis: unknown command %q\n\n", c.command)
		fs.Usage()
		return 2
	}
	dir, err := filepath.Abs(*projectDir)
	if err != nil {
		return fail(err)
	}
	var cancel context.CancelFunc
	c.ctx, cancel = signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	c.opts = driver.Options{Stack: *stackName, ProjectDir: dir, Backend: *backend}
	url, source, err := c.opts.StateBackend()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "rhesis: stack %s, state in %s (%s)\n", *stackName, url, source)
	if c.stack, err = driver.Open(c.ctx, c.opts); err != nil {
		return fail(err)
	}
	return c.exec()
}

func (c *cli) exec() int {
	s, dir := c.stack, c.opts.ProjectDir
	switch c.command {
	case "migrate-config":
		moved, err := driver.MigrateConfig(c.ctx, s)
		if err != nil {
			return fail(err)
		}
		if len(moved) == 0 {
			fmt.Printf("stack %s has no keys of an earlier version; nothing to move\n", s.Name())
		}
		for _, k := range moved {
			fmt.Printf("moved %s to where it lives now\n", k)
		}
	case "images":
		cfg, err := driver.LoadConfig(c.ctx, s, dir)
		if err != nil {
			return fail(err)
		}
		fmt.Print(imagePlan(cfg))
	case "up", "preview":
		return c.deploy()
	case "doctor":
		cfg, err := driver.LoadConfig(c.ctx, s, dir)
		if err != nil {
			return fail(err)
		}
		if blocked := c.preflight(cfg, os.Stdout, true); blocked {
			return 1
		}
	case "restore":
		return c.restore()
	case "drift":
		drifted, err := driver.Drift(c.ctx, s, io.Discard)
		if err != nil {
			return c.failRun(err)
		}
		if len(drifted) == 0 {
			fmt.Printf("stack %s matches the cluster\n", s.Name())
			return 0
		}
		fmt.Printf("stack %s differs from the cluster in %d objects:\n", s.Name(), len(drifted))
		for _, d := range drifted {
			what := "deleted in the cluster"
			if d.Op == "update" {
				what = "changed in the cluster: " + strings.Join(d.Diffs, ", ")
			}
			fmt.Printf("  %s %s: %s\n", d.Type, d.Name, what)
		}
		fmt.Printf("`rhesis --stack %s up` puts them back\n", s.Name())
		return exitDrift
	case "cancel":
		if err := driver.Recover(c.ctx, c.opts, s, dir, c.force, os.Stdout); err != nil {
			return fail(err)
		}
	case "destroy":
		if _, err := s.Destroy(c.ctx, optdestroy.ProgressStreams(os.Stdout), optdestroy.ErrorProgressStreams(os.Stderr)); err != nil {
			return c.failRun(err)
		}
	case "outputs":
		out, err := s.Outputs(c.ctx)
		if err != nil {
			return fail(err)
		}
		printOutputs(out, c.secrets)
	}
	return 0
}

// deploy runs up or preview: the config checked first (its problems are
// printed once, nothing is run), then for a stack that keeps its data the
// data-loss check, then the update.
func (c *cli) deploy() int {
	s, dir := c.stack, c.opts.ProjectDir
	cfg, err := driver.LoadConfig(c.ctx, s, dir)
	if err != nil {
		return fail(err)
	}
	if !c.skipPreflight && c.preflight(cfg, os.Stderr, false) {
		fmt.Fprintf(os.Stderr, "rhesis: nothing was changed; fix the blockers above (`rhesis --stack %s doctor` lists every check), or pass --skip-preflight\n", s.Name())
		return 1
	}
	if err := driver.EnsureImageBuilder(c.ctx, s, cfg); err != nil {
		return fail(err)
	}
	if c.command == "up" {
		res, err := driver.Up(c.ctx, s, cfg, driver.UpOptions{SkipRefresh: c.noRefresh, AllowDataLoss: c.allowLoss,
			Progress: os.Stdout, Errors: os.Stderr})
		if err != nil {
			return c.failRun(err)
		}
		printOutputs(res.Outputs, false)
		return 0
	}
	previewOpts := driver.PreviewOptions{Refresh: !c.noRefresh, Diff: c.diff, Progress: os.Stdout, Errors: os.Stderr}
	// The summary is written even when the preview fails: a replacement
	// the API server refuses (an immutable claim) is what reviewers must see.
	sum, evts, previewErr := driver.DataLossCheck(c.ctx, s, cfg, previewOpts)
	if c.events != "" {
		if err := writeEvents(c.events, evts); err != nil {
			return fail(err)
		}
	}
	if c.summary != "" {
		if err := os.WriteFile(c.summary, []byte(sum.Markdown(s.Name())), 0o644); err != nil {
			return fail(err)
		}
	}
	if cfg.Keep() {
		if err := summary.Gate(sum, s.Name(), c.allowLoss); err != nil {
			return fail(err)
		}
	}
	if previewErr != nil {
		return c.failRun(previewErr)
	}
	return 0
}

// restore replaces the stack's database with an off-site copy.
func (c *cli) restore() int {
	r, err := driver.LoadConfig(c.ctx, c.stack, c.opts.ProjectDir)
	if err != nil {
		return fail(err)
	}
	cluster, err := preflight.Connect(r.Config.Deploy.KubeContext)
	if err != nil {
		return fail(err)
	}
	if err := restore.Run(c.ctx, cluster.Kube, r, restore.Options{Object: c.object, Timeout: 2 * time.Hour, Log: os.Stdout, Dynamic: cluster.Dynamic}); err != nil {
		return fail(err)
	}
	fmt.Printf("stack %s: restored %s; the apps run again\n", c.stack.Name(), c.object)
	return 0
}

// preflight runs doctor's checks against the stack's cluster and writes
// them (all, or only the problems) to w. It tells whether a blocker was
// found; a cluster it cannot ask is a blocker too.
func (c *cli) preflight(r *stack.Resolved, w io.Writer, all bool) bool {
	cluster, err := preflight.Connect(r.Config.Deploy.KubeContext)
	if err == nil {
		var found []preflight.Finding
		if found, err = preflight.Run(c.ctx, cluster, preflight.PlanOf(r)); err == nil {
			if !all {
				found = slices.DeleteFunc(found, func(f preflight.Finding) bool { return f.Severity == preflight.OK })
				if len(found) == 0 {
					return false
				}
			}
			preflight.Print(w, found)
			return len(preflight.Blockers(found)) > 0
		}
	}
	_, _ = fmt.Fprintf(w, "rhesis: checking the cluster: %v\n", err)
	return true
}

// failRun reports a failed engine run. The engine has streamed its
// diagnostics already; this says in one line what failed and what to do.
func (c *cli) failRun(err error) int {
	stack := c.stack.Name()
	first, _, _ := strings.Cut(err.Error(), "\n")
	switch {
	case driver.IsLocked(err):
		locks := driver.LocksIn(err)
		stale := len(locks) > 0
		for _, l := range locks {
			stale = stale && l.Stale()
		}
		if stale {
			fmt.Fprintf(os.Stderr, "rhesis: %s is locked by a run that is gone (%s); clear it with `rhesis --stack %s cancel` (make unlock STACK=%s), then run again\n",
				stack, locks[0], stack, stack)
		} else {
			fmt.Fprintf(os.Stderr, "rhesis: %s is locked by another run (%v); wait for it to end, or after a killed run use `rhesis --stack %s cancel`\n", stack, locks, stack)
		}
	case driver.IsReleasePending(err):
		fmt.Fprintf(os.Stderr, "rhesis: the Helm release of %s was left pending by an interrupted run; recover it with `rhesis --stack %s cancel`, then run again\n", stack, stack)
	case driver.IsDataLoss(err):
		fmt.Fprintln(os.Stderr, "rhesis:", err)
	default:
		fmt.Fprintf(os.Stderr, "rhesis: %s of %s failed (%s); the engine's diagnostics are above\n", c.command, stack, first)
	}
	return 1
}

// imagePlan is a table of the stack's application images: each as its
// workload names it, and how it is obtained.
func imagePlan(r *stack.Resolved) string {
	builds := map[string]config.ImageBuild{}
	for _, b := range r.Config.ImageBuilds(r.Rendered.Objects) {
		builds[b.Name] = b
	}
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "IMAGE\tREFERENCE\tPULL\tSOURCE")
	for _, img := range config.Buildable {
		ref := config.WorkloadImage(r.Rendered.Objects, img.Workload)
		if ref == "" {
			continue
		}
		source := "prebuilt"
		if b, built := builds[img.Image]; built {
			rel, _ := filepath.Rel(b.Context, b.Dockerfile)
			source = "build " + filepath.ToSlash(rel)
			if b.Target != "" {
				source += " target " + b.Target
			}
			for _, k := range sortedKeys(b.Args) {
				source += fmt.Sprintf(" %s=%s", k, b.Args[k])
			}
			source += fmt.Sprintf(" (%s, context %s)", b.Platform, b.Context)
			if b.Push {
				source += ", push"
			} else {
				source += ", no push"
			}
		}
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", img.Image, ref, config.WorkloadPullPolicy(r.Rendered.Objects, img.Workload), source)
	}
	_ = w.Flush()
	if names := pullSecrets(r.Rendered.Objects); len(names) > 0 {
		fmt.Fprintf(&sb, "pull Secrets: %s\n", strings.Join(names, ", "))
	}
	return sb.String()
}

// pullSecrets are the image pull Secrets the backend's pods reference.
func pullSecrets(objects []charts.Object) []string {
	var names []string
	for _, o := range objects {
		if o.Kind() != "Deployment" || o.BaseName() != "backend" {
			continue
		}
		refs, _ := o.Field("spec", "template", "spec", "imagePullSecrets").([]any)
		for _, ref := range refs {
			if n, ok := charts.Dig(ref, "name").(string); ok {
				names = append(names, n)
			}
		}
	}
	return names
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func printOutputs(out auto.OutputMap, showSecrets bool) {
	plain := map[string]any{}
	for k, v := range out {
		if v.Secret && !showSecrets {
			plain[k] = "[secret]"
			continue
		}
		plain[k] = v.Value
	}
	b, _ := json.MarshalIndent(plain, "", "  ")
	fmt.Println(string(b))
}

func writeEvents(path string, evts []apitype.EngineEvent) error {
	var b []byte
	for _, e := range evts {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b = append(append(b, line...), '\n')
	}
	return os.WriteFile(path, b, 0o644)
}

// helpOr2 is the exit code of a flag error: 0 for -h/--help, else 2.
func helpOr2(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// fail reports an error no engine run has printed.
func fail(err error) int {
	fmt.Fprintln(os.Stderr, "rhesis:", err)
	return 1
}
