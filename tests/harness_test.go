package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/stack"
	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// stacks are the three stacks the project ships.
var stacks = []string{"local", "staging", "prod"}

// release is the Rhesis release the chart pins (its appVersion), the tag
// every image runs unless a stack sets one.
var release = charts.RhesisRelease

// repoRoot is testutil.RepoRoot: the folder holding go.mod and Pulumi.yaml.
var repoRoot = testutil.RepoRoot

// registered is one resource the program asked the engine for.
type registered struct {
	Type    string
	Name    string
	Custom  bool
	Parent  string
	Inputs  resource.PropertyMap
	Protect bool
	// DependsOn are the URNs the resource waits for.
	DependsOn []string
	// AliasParents are the parents of its aliases (its previous URNs).
	AliasParents []string
	// SecretOutputs are the outputs it marks secret.
	SecretOutputs []string
	// Read: the program reads an existing object instead of managing it.
	Read bool
	// Hooks are the resource hooks bound to it, by when they run.
	Hooks *pulumirpc.RegisterResourceRequest_ResourceHooksBinding
}

// Kind is the Kubernetes kind of a custom resource ("Deployment").
func (r registered) Kind() string { return r.Type[strings.LastIndex(r.Type, ":")+1:] }

// Plain is the inputs with secrets unwrapped, as JSON-like maps.
func (r registered) Plain() map[string]any {
	out := map[string]any{}
	for k, v := range r.Inputs {
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plainValue(e)
		}
		return out
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, plainValue(e))
		}
		return out
	default:
		return v.Mappable()
	}
}

// Meta returns metadata.name and metadata.namespace.
// A Helm Release carries them at the top level.
func (r registered) Meta() (name, namespace string) {
	plain := r.Plain()
	m, ok := plain["metadata"].(map[string]any)
	if !ok {
		m = plain
	}
	name, _ = m["name"].(string)
	namespace, _ = m["namespace"].(string)
	return name, namespace
}

type mocks struct {
	mu        sync.Mutex
	resources []registered
	// previous are the outputs of the stack's last deployment, as its
	// self-reference reads them.
	previous map[string]any
	// preview: the docker provider has built nothing yet, so no digest.
	preview bool
	// namespaceLabels are the labels of a namespace the cluster holds already.
	namespaceLabels map[string]string
}

func (m *mocks) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.TypeToken == "pulumi:pulumi:StackReference" {
		state := a.Inputs.Copy()
		state["outputs"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(m.previous))
		return a.Name, state, nil
	}
	m.resources = append(m.resources, registered{
		Type: a.TypeToken, Name: a.Name, Custom: a.Custom, Parent: a.RegisterRPC.GetParent(), Inputs: a.Inputs,
		Protect: a.RegisterRPC.GetProtect(), DependsOn: a.RegisterRPC.GetDependencies(),
		AliasParents: aliasParents(a), SecretOutputs: a.RegisterRPC.GetAdditionalSecretOutputs(), Read: a.ID != "",
		Hooks: a.RegisterRPC.GetHooks(),
	})
	if a.ID != "" && a.TypeToken == "kubernetes:core/v1:Namespace" {
		labels := map[string]any{}
		for k, v := range m.namespaceLabels {
			labels[k] = v
		}
		return a.ID, resource.NewPropertyMapFromMap(map[string]any{
			"metadata": map[string]any{"name": a.Name, "labels": labels},
		}), nil
	}
	state := a.Inputs
	if a.TypeToken == dockerImageType && !m.preview {
		// What the docker provider reports after a build: a content digest.
		state = a.Inputs.Copy()
		state["repoDigest"] = resource.NewStringProperty(mockDigest(a.Name))
	}
	return a.Name + "-id", state, nil
}

// dockerImageType is the type token of docker.Image.
const dockerImageType = "docker:index/image:Image"

// mockDigest is the digest the mocked docker provider gives the image built
// as resource name.
func mockDigest(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func aliasParents(a pulumi.MockResourceArgs) []string {
	var out []string
	for _, alias := range a.RegisterRPC.GetAliases() {
		if spec := alias.GetSpec(); spec != nil {
			out = append(out, spec.GetParentUrn())
		}
	}
	return out
}

func (m *mocks) Call(a pulumi.MockCallArgs) (resource.PropertyMap, error) { return a.Args, nil }

// result is what one mocked run registered and exported.
type result struct {
	Resources []registered
	Outputs   map[string]any
	// Config is the stack as the program resolved it: its configuration,
	// the values merged with the chart's defaults, the rendered objects.
	Config *stack.Resolved
}

// kubernetes returns the Kubernetes objects (custom resources other than providers).
func (r *result) kubernetes() []registered {
	var out []registered
	for _, res := range r.Resources {
		if res.Custom && strings.HasPrefix(res.Type, "kubernetes:") {
			out = append(out, res)
		}
	}
	return out
}

// object returns the object of kind with metadata.name name.
func (r *result) object(t *testing.T, kind, name string) registered {
	t.Helper()
	for _, res := range r.kubernetes() {
		if n, _ := res.Meta(); res.Kind() == kind && n == name {
			return res
		}
	}
	require.FailNowf(t, "object not registered", "%s/%s", kind, name)
	return registered{}
}

// release returns the Helm Release of a helm-mode run.
func (r *result) release(t *testing.T) registered {
	t.Helper()
	for _, res := range r.Resources {
		if res.Type == "kubernetes:helm.sh/v3:Release" {
			return res
		}
	}
	require.FailNow(t, "no Helm Release registered")
	return registered{}
}

// hasObject tells whether an object of kind and name was registered.
func (r *result) hasObject(kind, name string) bool {
	for _, res := range r.kubernetes() {
		if n, _ := res.Meta(); res.Kind() == kind && n == name {
			return true
		}
	}
	return false
}

// testSecrets are valid secrets for staging and prod runs. The Redis password
// holds every character that breaks an unescaped URL.
var testSecrets = map[string]string{
	"sessionSecretKey": "test-session-secret",
	"jwtSecretKey":     "test-jwt-secret",
	"nextauthSecret":   "test-nextauth-secret",
	"dbEncryptionKey":  "dGVzdC1mZXJuZXQta2V5LTMyLWJ5dGVzLWxvbmchISE=",
	"dbPassword":       "test-db-password",
	"dbAppPassword":    "test-app-db-password",
	"redisPassword":    "p@ss/w:rd#1",
	"auditHashKey":     "test-audit-hash-key",
}

// testSharedClass is the ReadWriteMany StorageClass staging and prod name
// for the shared storage, as an operator must.
const testSharedClass = "shared-rwx"

// settings is the config of one run, structured as the CLI hands it over:
// each top-level key (rhesis:backend) with its value, objects as JSON.
type settings struct {
	tops map[string]any
	// secrets are the keys set encrypted, as dotted names (images.registryPassword).
	secrets map[string]bool
	root    string // the project folder, where Pulumi.yaml and charts/ are
	// servesAPI stands for the cluster's discovery (nil: ask the cluster).
	servesAPI stack.ServesAPI
	// namespaceLabels are those of the namespace when it exists already.
	namespaceLabels map[string]string
}

// stackSettings applies what the Pulumi CLI applies: Pulumi.yaml's defaults,
// then Pulumi.<stack>.yaml. Staging and prod get an ingress host with TLS,
// an image tag and testSecrets (stored as secrets), as an operator would set them.
func stackSettings(t *testing.T, stackName string) settings {
	t.Helper()
	root := repoRoot(t)
	s := settings{tops: map[string]any{}, secrets: map[string]bool{}, root: root}
	for name, decl := range config.Declarations(chartSchema(t)) {
		s.tops[config.Namespace+":"+name] = decl.Default
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	raw, err := os.ReadFile(filepath.Join(root, "Pulumi."+stackName+".yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &file))
	for k, v := range file.Config {
		s.tops[k] = v
	}
	if stackName != "local" {
		// The browser URLs follow from the ingress hosts:
		// https://<stack>.rhesis.test and https://api.<stack>.rhesis.test.
		s.set("ingress.host", stackName+".rhesis.test")
		s.set("ingress.tlsSecret", "rhesis-tls")
		s.set("ingress.className", "nginx")
		// ReadWriteMany needs a class that provides it.
		s.set("storage.storageClass", testSharedClass)
		for k, v := range testSecrets {
			s.setSecret("secrets."+k, v)
		}
	}
	return s
}

// set sets a key as `pulumi config set --path` does: a dotted key inside
// its object, true and false as booleans and whole numbers as numbers (the
// CLI's own coercion). A value written as a JSON object or list is set as one.
func (s settings) set(key, value string) {
	var v any = value
	switch {
	case strings.HasPrefix(value, "{") || strings.HasPrefix(value, "["):
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			panic(fmt.Sprintf("settings.set(%q): %v", key, err))
		}
	case value == "true" || value == "false":
		v = value == "true"
	case strings.Contains(key, ".") && (value == "0" || !strings.HasPrefix(value, "0")):
		if n, err := strconv.ParseInt(value, 10, 64); err == nil {
			v = float64(n)
		}
	}
	s.put(key, v)
	delete(s.secrets, key)
}

// setSecret sets a key encrypted, as `pulumi config set --secret --path` does.
func (s settings) setSecret(key, value string) {
	s.put(key, value)
	s.secrets[key] = true
}

// secretKeys are the top-level keys the engine reports as secret: those
// holding an encrypted value.
func (s settings) secretKeys() map[string]bool {
	out := map[string]bool{}
	for key := range s.secrets {
		top, _, _ := strings.Cut(key, ".")
		out[config.Namespace+":"+top] = true
	}
	return out
}

func (s settings) put(key string, v any) {
	parts := strings.Split(key, ".")
	full := config.Namespace + ":" + parts[0]
	if len(parts) == 1 {
		s.tops[full] = v
		return
	}
	config.SetPath(s.objectAt(full), strings.Join(parts[1:], "."), v)
}

// objectAt returns the object under a top-level key, created when missing
// (and copied, so that settings derived from one another stay apart).
func (s settings) objectAt(full string) map[string]any {
	obj, _ := s.tops[full].(map[string]any)
	if obj = deepCopy(obj); obj == nil {
		obj = map[string]any{}
	}
	s.tops[full] = obj
	return obj
}

func (s settings) unset(key string) {
	parts := strings.Split(key, ".")
	full := config.Namespace + ":" + parts[0]
	if len(parts) == 1 {
		delete(s.tops, full)
		return
	}
	obj := s.objectAt(full)
	for _, p := range parts[1 : len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			return
		}
		obj = next
	}
	delete(obj, parts[len(parts)-1])
}

// values is the config as the engine hands it to a program: each top-level
// key's value as text, objects as JSON.
func (s settings) values() map[string]string {
	out := make(map[string]string, len(s.tops))
	for k, v := range s.tops {
		switch x := v.(type) {
		case string:
			out[k] = x
		case map[string]any, []any:
			b, err := json.Marshal(x)
			if err != nil {
				panic(err)
			}
			out[k] = string(b)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// keys are the keys the stack sets, as the runners tell the program.
func (s settings) keys(*pulumi.Context) ([]string, error) {
	return slices.Sorted(maps.Keys(s.tops)), nil
}

// source is the settings as the driver hands them to config.Load.
func (s settings) source() config.MapSource {
	return config.MapSource{Values: s.values(), Secrets: s.secretKeys(), Dir: s.root}
}

// pathSecrets tells the program which values are encrypted, value by
// value, as the stack file would.
func (s settings) pathSecrets(src config.Source) config.Source {
	return secretPaths{Source: src, secrets: s.secrets}
}

type secretPaths struct {
	config.Source
	secrets map[string]bool
}

// SecretPath implements config.PathSecrets: a value is encrypted when it,
// or the object it was set in, was set with setSecret.
func (p secretPaths) SecretPath(path string) (secret, known bool) {
	for prefix := path; prefix != ""; {
		if p.secrets[prefix] {
			return true, true
		}
		i := strings.LastIndex(prefix, ".")
		if i < 0 {
			break
		}
		prefix = prefix[:i]
	}
	return false, true
}

// load reads the settings as the program does, against the repository's chart.
func (s settings) load(stackName string) (*config.Stack, error) {
	return config.Load(s.pathSecrets(s.source()), stackName, stack.ChartResolver(stack.ChartIn(s.root)))
}

// withConfig hands the settings to the mocked run like the engine does.
func withConfig(s settings) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.RootDirectory = s.root
		info.Config = s.values()
		info.ConfigSecretKeys = slices.Sorted(maps.Keys(s.secretKeys()))
	}
}

// run executes the program exactly as main.go does, under mocks, and
// collects what it registered and exported.
func run(t *testing.T, stackName string, s settings) (*result, error) {
	t.Helper()
	return runMode(t, stackName, s, false)
}

// runPreview runs the program as `pulumi preview` does: outputs of
// resources not yet created are unknown.
func runPreview(t *testing.T, stackName string, s settings) (*result, error) {
	t.Helper()
	return runMode(t, stackName, s, true)
}

func runMode(t *testing.T, stackName string, s settings, preview bool) (*result, error) {
	t.Helper()
	m := &mocks{preview: preview, namespaceLabels: s.namespaceLabels}
	res := &result{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		setKeys, _ := s.keys(nil)
		local, err := stack.LocalChartDir(ctx)
		if err != nil {
			return err
		}
		cfg, err := config.Load(s.pathSecrets(stack.ContextSource{Ctx: ctx, SetKeys: setKeys}), ctx.Stack(), stack.ChartResolver(local))
		if err != nil {
			return err
		}
		servesAPI := s.servesAPI
		if servesAPI == nil {
			servesAPI = stack.ClusterServesAPI
		}
		resolved, err := stack.Resolve(cfg, servesAPI)
		if err != nil {
			return err
		}
		res.Config = resolved
		outs, err := stack.DeployResolved(ctx, resolved)
		if err != nil {
			return err
		}
		outs.ToMapOutput().ApplyT(func(v map[string]any) error {
			// Through JSON, as `pulumi stack output --json` shows them.
			b, err := json.Marshal(v)
			if err == nil {
				err = json.Unmarshal(b, &res.Outputs)
			}
			return err
		})
		return nil
	}, pulumi.WithMocks("rhesis", stackName, m), withConfig(s), func(info *pulumi.RunInfo) { info.DryRun = preview })
	m.mu.Lock()
	defer m.mu.Unlock()
	res.Resources = append([]registered{}, m.resources...)
	return res, err
}

// runProgram executes stack.Program itself and returns what it registered.
func runProgram(t *testing.T, stackName string, s settings) ([]registered, error) {
	t.Helper()
	return runProgramAfter(t, stackName, s, nil)
}

// runProgramAfter runs stack.Program on a stack whose last deployment
// exported previous.
func runProgramAfter(t *testing.T, stackName string, s settings, previous map[string]any) ([]registered, error) {
	t.Helper()
	m := &mocks{previous: previous}
	program := stack.NewProgram(stack.Options{ConfigKeys: s.keys, Source: s.pathSecrets})
	err := pulumi.RunErr(program, pulumi.WithMocks("rhesis", stackName, m), withConfig(s))
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]registered{}, m.resources...), err
}

// mustRun runs a stack's shipped configuration and fails on error.
func mustRun(t *testing.T, stackName string) *result {
	t.Helper()
	r, err := run(t, stackName, stackSettings(t, stackName))
	require.NoError(t, err)
	return r
}

// dig is testutil.Dig, short for the many assertions that use it.
var dig = testutil.Dig

// podSpec is the pod an object runs: a Deployment's or Job's template, a
// CronJob's job template, a Pod's own spec; nil for any other object.
func podSpec(obj map[string]any) map[string]any {
	if obj["kind"] == "Pod" {
		p, _ := obj["spec"].(map[string]any)
		return p
	}
	for _, path := range [][]any{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}} {
		if p, ok := dig(obj, path...).(map[string]any); ok {
			return p
		}
	}
	return nil
}

// podContainers are a pod's init containers, then its containers.
func podContainers(pod map[string]any) []any {
	init, _ := pod["initContainers"].([]any)
	main, _ := pod["containers"].([]any)
	return append(append([]any{}, init...), main...)
}

// container returns the first container of a Deployment.
func container(d registered) map[string]any {
	c, _ := dig(d.Plain(), "spec", "template", "spec", "containers", 0).(map[string]any)
	return c
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// migrationJobPattern is how the chart names the migration Job: after a
// digest of its spec, so a new release or any change to its pod is a new Job.
var migrationJobPattern = regexp.MustCompile(`^migrate-[0-9a-f]{8}$`)

// migrationJobSpelled is how the object lists below spell the migration Job,
// whatever its digest.
const migrationJobSpelled = "migrate-<digest>"

// spelled is a "Kind/name" with the migration Job's digest spelled out.
func spelled(kindName string) string {
	if kind, name, _ := strings.Cut(kindName, "/"); kind == "Job" && migrationJobPattern.MatchString(name) {
		return "Job/" + migrationJobSpelled
	}
	return kindName
}

// migrationJob is the run's one migration Job, named as the chart names it.
func migrationJob(t *testing.T, r *result) (string, registered) {
	t.Helper()
	var found []registered
	for _, res := range r.kubernetes() {
		if res.Kind() == "Job" {
			found = append(found, res)
		}
	}
	require.Len(t, found, 1, "one migration Job")
	name, _ := found[0].Meta()
	require.Regexp(t, migrationJobPattern, name)
	return name, found[0]
}
