// Package driver runs the Pulumi program (stack.Program) through the
// Automation API with an inline program, so it needs the Pulumi CLI and the
// Kubernetes provider but no Go language plugin. cmd/rhesis is its command line.
package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/driver/inline"
	"github.com/rhesis-ai/rhesis-deploy/stack"
	"github.com/rhesis-ai/rhesis-deploy/summary"
)

// The CLI and the providers the program runs with: the versions of their SDKs
// in go.mod, where they are pinned (hack/toolchain.sh reads go.mod; a test
// holds these to it).
const (
	PulumiVersion         = "3.274.1"
	ProviderVersion       = "4.25.0"
	DockerProviderVersion = "4.10.0"
)

const (
	// LocalPassphrase encrypts the local stack's secrets. It is public: local
	// secrets are development values anyway (README, "Secrets").
	LocalPassphrase = "rhesis-local-development-only"
)

// Options say which stack to run and where its state lives.
type Options struct {
	Stack string
	// ProjectDir holds Pulumi.yaml, the stack files and charts/.
	ProjectDir string
	// Backend is the state backend URL; empty means the one the Pulumi CLI
	// would use (see StateBackend).
	Backend string
	// ToolCache is where hack/toolchain.sh keeps the CLI and the provider.
	ToolCache string
}

// ToolCache is hack/toolchain.sh's cache folder.
func ToolCache() string {
	if c := os.Getenv("RHESIS_CACHE"); c != "" {
		return c
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "rhesis-deploy")
}

// Parallel is how many resource operations the engine runs at once. They
// are calls to and waits on the Kubernetes API, not CPU work: the CLI's own
// default (4 per CPU) would let the awaits of the workloads hold most slots
// while the rest of a stack queues behind them.
const Parallel = 64

// StateDir is the project's own file backend, used when the user is logged
// in nowhere: `pulumi login file://<project>/.pulumi-state` makes the CLI use it too.
const StateDir = ".pulumi-state"

// StateBackend is where the stack's state lives and why, chosen as the Pulumi
// CLI chooses, so that `make up` and `pulumi up` work on one state:
// Options.Backend (--backend), else PULUMI_BACKEND_URL, else Pulumi.yaml's
// backend.url, else the backend of `pulumi login`, else the project's file
// backend.
func (o Options) StateBackend() (url, source string, err error) {
	if o.Backend != "" {
		return o.Backend, "--backend", nil
	}
	if b := os.Getenv("PULUMI_BACKEND_URL"); b != "" {
		return b, "PULUMI_BACKEND_URL", nil
	}
	if proj, err := workspace.LoadProject(filepath.Join(o.ProjectDir, "Pulumi.yaml")); err == nil &&
		proj.Backend != nil && proj.Backend.URL != "" {
		return proj.Backend.URL, "Pulumi.yaml backend.url", nil
	}
	creds, err := workspace.GetStoredCredentials()
	if err != nil {
		return "", "", fmt.Errorf("reading the Pulumi login: %w", err)
	}
	if creds.Current != "" {
		return creds.Current, "pulumi login", nil
	}
	dir := filepath.Join(o.ProjectDir, StateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	return "file://" + dir, "not logged in: the project's file backend", nil
}

// Env is the environment the Pulumi CLI runs with: the backend, the engine's
// parallelism (PULUMI_PARALLEL, unless set) and, for the local stack, its
// public passphrase unless one is set.
func (o Options) Env() (map[string]string, error) {
	backend, _, err := o.StateBackend()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":       backend,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
	}
	if os.Getenv("PULUMI_PARALLEL") == "" {
		env["PULUMI_PARALLEL"] = strconv.Itoa(Parallel)
	}
	hasPassphrase := os.Getenv("PULUMI_CONFIG_PASSPHRASE") != "" || os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") != ""
	switch {
	case hasPassphrase:
	case o.Stack == "local":
		env["PULUMI_CONFIG_PASSPHRASE"] = LocalPassphrase
	default:
		provider, err := o.stackSecretsProvider()
		if err != nil {
			return nil, err
		}
		if provider == "" || provider == "passphrase" {
			return nil, fmt.Errorf("stack %q keeps its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE "+
				"(or PULUMI_CONFIG_PASSPHRASE_FILE), or create the stack with another --secrets-provider", o.Stack)
		}
	}
	return env, nil
}

// stackSecretsProvider reads secretsprovider from Pulumi.<stack>.yaml.
func (o Options) stackSecretsProvider() (string, error) {
	raw, err := os.ReadFile(filepath.Join(o.ProjectDir, "Pulumi."+o.Stack+".yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	var file struct {
		SecretsProvider string `yaml:"secretsprovider"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return "", fmt.Errorf("reading stack file Pulumi.%s.yaml: %w", o.Stack, err)
	}
	return file.SecretsProvider, nil
}

// pulumiCommand is the pulumi on PATH when it is recent enough, else the one
// hack/toolchain.sh built.
func (o Options) pulumiCommand() (auto.PulumiCommand, error) {
	want := semver.MustParse(PulumiVersion)
	if cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Version: want}); err == nil {
		return cmd, nil
	}
	root := filepath.Join(o.ToolCache, "pulumi-"+PulumiVersion)
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Version: want, Root: root})
	if err != nil {
		return nil, fmt.Errorf("no pulumi >= v%s on PATH or in %s: run hack/toolchain.sh pulumi (%w)", PulumiVersion, root, err)
	}
	return cmd, nil
}

// ensureProvider installs the Kubernetes provider plugin built by
// hack/toolchain.sh, once: the engine cannot download it here.
func (o Options) ensureProvider(ctx context.Context, cli auto.PulumiCommand, env []string) error {
	// Where `pulumi plugin ls` looks, without starting the CLI for it.
	version := semver.MustParse(ProviderVersion)
	if workspace.HasPlugin(workspace.PluginDescriptor{Name: "kubernetes", Kind: apitype.ResourcePlugin, Version: &version}) {
		return nil
	}
	bin := filepath.Join(o.ToolCache, "pulumi-resource-kubernetes-"+ProviderVersion, "pulumi-resource-kubernetes")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("the Kubernetes provider v%s is not installed and %s does not exist: run hack/toolchain.sh provider", ProviderVersion, bin)
	}
	_, stderr, _, err := cli.Run(ctx, o.ProjectDir, nil, nil, nil, env,
		"plugin", "install", "resource", "kubernetes", "v"+ProviderVersion, "--file", bin)
	if err != nil {
		return fmt.Errorf("installing the Kubernetes provider: %w: %s", err, strings.TrimSpace(stderr))
	}
	return nil
}

// Open selects (or creates) the stack with the program wired in.
func Open(ctx context.Context, o Options) (auto.Stack, error) {
	if o.ToolCache == "" {
		o.ToolCache = ToolCache()
	}
	env, err := o.Env()
	if err != nil {
		return auto.Stack{}, err
	}
	cmd, err := o.pulumiCommand()
	if err != nil {
		return auto.Stack{}, err
	}
	var extra []string
	for k, v := range env {
		extra = append(extra, k+"="+v)
	}
	if err := o.ensureProvider(ctx, cmd, extra); err != nil {
		return auto.Stack{}, err
	}
	var opened auto.Stack
	program := stack.NewProgram(stack.Options{
		ChartDir: stack.ChartIn(o.ProjectDir),
		// The engine hands an inline program no list of the keys; the stack has it.
		// (A run through Update or Preview has them from the engine; one through
		// auto.Stack asks the CLI.)
		ConfigKeys: func(pctx *pulumi.Context) ([]string, error) {
			if keys, ok := inline.ConfigKeys(pctx.Context()); ok {
				return keys, nil
			}
			return configKeys(ctx, opened)
		},
	})
	opened, err = auto.UpsertStackInlineSource(ctx, o.Stack, "rhesis", program,
		auto.WorkDir(o.ProjectDir), auto.Pulumi(cmd), auto.EnvVars(env))
	return opened, err
}

func configKeys(ctx context.Context, s auto.Stack) ([]string, error) {
	all, err := s.GetAllConfig(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(all)), nil
}

// IsProd tells whether the stack deploys the prod environment.
func IsProd(ctx context.Context, s auto.Stack) bool {
	v, err := s.GetConfig(ctx, "rhesis:environment")
	if err == nil && v.Value != "" {
		return v.Value == "prod"
	}
	return s.Name() == "prod"
}

// CopyProject copies what the program needs (Pulumi.yaml and the chart) from
// the project folder src into dst, so stacks created there (tests,
// benchmarks) never write stack files into the checkout.
func CopyProject(src, dst string) error {
	chart := filepath.Join("charts", "rhesis")
	if err := os.CopyFS(filepath.Join(dst, chart), os.DirFS(filepath.Join(src, chart))); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(src, "Pulumi.yaml"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "Pulumi.yaml"), raw, 0o644)
}

// LoadConfig reads, checks and renders a stack's configuration the way the
// program does, without running it: for commands that only explain what a
// run would do, and for the gate, which needs what the program reads.
func LoadConfig(ctx context.Context, s auto.Stack, projectDir string) (*stack.Resolved, error) {
	all, err := s.GetAllConfig(ctx)
	if err != nil {
		return nil, err
	}
	src := config.MapSource{Values: map[string]string{}, Secrets: map[string]bool{}, Dir: projectDir}
	for k, v := range all {
		src.Values[k] = v.Value
		src.Secrets[k] = v.Secret
	}
	cfg, err := config.Load(src, s.Name(), stack.ChartResolver(stack.ChartIn(projectDir)))
	if err != nil {
		return nil, err
	}
	return stack.Resolve(cfg, stack.ClusterServesAPI)
}

// EnsureImageBuilder installs the docker provider when the stack builds
// images; a stack of prebuilt images never needs it.
func EnsureImageBuilder(ctx context.Context, s auto.Stack, r *stack.Resolved) error {
	if len(r.Config.ImageBuilds(r.Rendered.Objects)) == 0 {
		return nil
	}
	if err := s.Workspace().InstallPlugin(ctx, "docker", "v"+DockerProviderVersion); err != nil {
		return fmt.Errorf("deploy.images.build is true, which needs the docker provider: %w "+
			"(install it with `pulumi plugin install resource docker v%s`)", err, DockerProviderVersion)
	}
	return nil
}

// StackFileKeys are the keys the stack's own settings (Pulumi.<stack>.yaml)
// hold, without the project's declared defaults.
func StackFileKeys(ctx context.Context, s auto.Stack) (map[string]bool, error) {
	settings, err := s.Workspace().StackSettings(ctx, s.Name())
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range settings.Config {
		keys[k.String()] = true
	}
	return keys, nil
}

// MigrateConfig moves every key of an earlier version to where it lives
// now (config.Migrate), keeping each value and whether it is encrypted,
// and returns the keys it moved. The new paths are set before the old
// keys go: a failure loses nothing.
func MigrateConfig(ctx context.Context, s auto.Stack) ([]string, error) {
	all, err := s.GetAllConfig(ctx)
	if err != nil {
		return nil, err
	}
	// Only what the stack sets: GetAllConfig adds Pulumi.yaml's declared
	// defaults, which are no setting of the stack's to move.
	inFile, err := StackFileKeys(ctx, s)
	if err != nil {
		return nil, err
	}
	current := map[string]config.ConfigValue{}
	for k, v := range all {
		if inFile[k] {
			current[k] = config.ConfigValue{Value: v.Value, Secret: v.Secret}
		}
	}
	m := config.Migrate(current)
	if len(m.Remove) == 0 {
		return nil, nil
	}
	set := auto.ConfigMap{}
	for k, v := range m.Set {
		set[k] = auto.ConfigValue{Value: v.Value, Secret: v.Secret}
	}
	if err := s.SetAllConfigWithOptions(ctx, set, &auto.ConfigOptions{Path: true}); err != nil {
		return nil, err
	}
	if err := s.RemoveAllConfig(ctx, m.Remove); err != nil {
		return nil, err
	}
	return m.Remove, nil
}

// DataLossCheck is what an update would do to the stack's data, found
// before it changes anything: the engine's preview (o says how) and, in
// helm mode, what the upgrade does to the claims inside the release, which
// the engine sees only as the Release. The preview's own failure is
// returned after the summary: a replacement the API server refuses is
// what must be shown.
func DataLossCheck(ctx context.Context, s auto.Stack, r *stack.Resolved, o PreviewOptions) (summary.Summary, []apitype.EngineEvent, error) {
	evts, previewErr := Preview(ctx, s, o)
	sum := summary.FromEvents(evts)
	d := r.Config.Deploy
	if d.Mode != config.ModeHelm {
		return sum, evts, previewErr
	}
	deployed, err := DeployedRelease(d.Namespace, d.KubeContext, r.ReleaseName())
	if err != nil {
		return sum, evts, err
	}
	sum.Changes = append(sum.Changes, summary.ReleaseClaims(r.ReleaseName(), deployed, r.Rendered.Objects)...)
	return sum, evts, previewErr
}

// Drift lists what differs between the stack's state and the live cluster,
// objects changed or deleted by hand, without changing either; out gets the
// engine's progress.
func Drift(ctx context.Context, s auto.Stack, out io.Writer) ([]summary.Change, error) {
	evts, err := runProgram(ctx, s, out, nil, "refresh", "--preview-only")
	var drifted []summary.Change
	for _, e := range evts {
		ev := e.ResOutputsEvent
		if ev == nil || strings.HasPrefix(ev.Metadata.Type, "pulumi:") {
			continue // the program's own bookkeeping (its StackReference) reads anew every time
		}
		if m := ev.Metadata; m.Op == apitype.OpUpdate || m.Op == apitype.OpDelete {
			diffs := m.Diffs
			if len(diffs) == 0 {
				diffs = slices.Sorted(maps.Keys(m.DetailedDiff))
			}
			drifted = append(drifted, summary.Change{Op: string(m.Op), Type: m.Type, URN: m.URN,
				Name: m.URN[strings.LastIndex(m.URN, "::")+2:], Diffs: diffs})
		}
	}
	slices.SortFunc(drifted, func(a, b summary.Change) int { return strings.Compare(a.URN, b.URN) })
	return drifted, err
}

// IsDataLoss tells whether err is an update the data-loss check refused.
func IsDataLoss(err error) bool {
	var loss *summary.DataLossError
	return errors.As(err, &loss)
}

// UpOptions say how Up runs.
type UpOptions struct {
	// SkipRefresh skips reading the live objects first.
	SkipRefresh bool
	// AllowDataLoss lets a stack that keeps its data replace or delete
	// data-bearing resources.
	AllowDataLoss bool
	// Progress and Errors get the engine's output.
	Progress, Errors io.Writer
}

// Up updates the stack as `rhesis up` does: it refreshes the state from
// the cluster first, so objects deleted or changed by hand are put back;
// a stack that keeps its data is previewed first and refused, before
// anything changes, when the update would replace or delete a data-bearing
// resource (DataLossCheck).
func Up(ctx context.Context, s auto.Stack, r *stack.Resolved, o UpOptions) (UpResult, error) {
	if r.Keep() {
		sum, _, err := DataLossCheck(ctx, s, r, PreviewOptions{Refresh: !o.SkipRefresh})
		if gateErr := summary.Gate(sum, s.Name(), o.AllowDataLoss); gateErr != nil {
			return UpResult{}, fmt.Errorf("%w; nothing was changed", gateErr)
		}
		if err != nil {
			return UpResult{}, err
		}
	}
	return Update(ctx, s, o)
}
