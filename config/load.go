package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Source is where raw config comes from: the Pulumi context in a program, a
// map in tests. Keys are full top-level names ("rhesis:namespace",
// "rhesis:backend"); an object's value is its JSON.
type Source interface {
	Get(key string) (string, bool)
	IsSecret(key string) bool
	// Keys lists every key the stack sets, so that one the program does not
	// read is refused instead of ignored.
	Keys() []string
	// ProjectDir is the folder relative paths (images.context) start from.
	ProjectDir() string
}

// MapSource is a Source over plain maps, for tests and tools.
type MapSource struct {
	Values  map[string]string
	Secrets map[string]bool
	Dir     string
}

// ProjectDir implements Source.
func (m MapSource) ProjectDir() string { return m.Dir }

// Get implements Source.
func (m MapSource) Get(key string) (string, bool) { v, ok := m.Values[key]; return v, ok }

// IsSecret implements Source.
func (m MapSource) IsSecret(key string) bool { return m.Secrets[key] }

// Keys implements Source.
func (m MapSource) Keys() []string { return sortedKeys(m.Values) }

// Load reads, defaults and validates the configuration of stack stackName.
// It reports every problem at once as Problems.
func Load(src Source, stackName string) (*Stack, error) {
	b := newBinder(src)
	s := b.load(stackName)
	if len(b.problems) > 0 {
		return nil, b.problems
	}
	return s, nil
}

func (b *binder) load(stackName string) *Stack {
	b.stack = stackName
	s := &Stack{StackName: stackName}
	s.Environment = b.environment(stackName)
	b.env = s.Environment
	if !slices.Contains(Environments, b.env) {
		b.env = Local // keep collecting problems with some defaults
	}

	s.Namespace = b.str("namespace")
	s.CreateNamespace = b.boolean("createNamespace")
	s.NamePrefix = b.str("namePrefix")
	s.DeployMode = b.str("deploy.mode")
	s.Chart = b.str("deploy.chart")
	s.ChartVersion = b.str("deploy.chartVersion")
	s.KubeContext = b.str("kubeContext")
	s.LogLevel = b.str("logLevel")

	// The images.* keys first: every image name below derives from them.
	b.imgs = b.images(b.src.ProjectDir())
	s.Images = b.imgs
	s.Frontend = App{b.component(FrontendName)}
	s.Backend = App{b.component(BackendName)}
	s.Images.Migrate = b.migrationImage(s.Backend.Image)
	s.Worker = Worker{
		Component:          b.component(WorkerName),
		Concurrency:        b.integer("worker.concurrency", 1),
		PrefetchMultiplier: b.integer("worker.prefetchMultiplier", 1),
		Keda: charts.Keda{Enabled: b.boolean("worker.keda.enabled"), ListLength: b.integer("worker.keda.listLength", 1),
			Namespace: b.str("worker.keda.namespace")},
	}
	if s.Worker.Keda.Enabled && !s.Worker.Autoscaling.Enabled {
		b.problem("worker.keda.enabled", "true", "needs worker.autoscaling.enabled: the scaler keeps the worker between its minReplicas and maxReplicas; "+
			"run `"+SetCommand(stackName, "worker.autoscaling.enabled", "true", false)+"`")
	}
	s.Postgres = Store{b.component(PostgresName), b.persistence(PostgresName), b.external(PostgresName)}
	s.Redis = Store{b.component(RedisName), b.persistence(RedisName), b.external(RedisName)}
	s.SpreadAcrossNodes = b.boolean("scheduling.spreadAcrossNodes")
	s.Pod = b.pod(GlobalPod)
	s.Ingress = b.ingress()
	s.Gateway = b.gateway()
	b.browserURLs(s)
	s.NetworkPolicies = b.networkPolicies()
	s.Migrations = b.boolean("migrations.enabled")
	s.Keep = b.boolean("postgres.persistence.keep")
	s.Backup = b.backup()
	s.Storage = b.sharedStorage()
	s.Monitoring = b.monitoring()
	s.Secrets = b.secrets()

	b.checkKeys()
	b.problems = append(b.problems, s.validate(b.secretSet)...)
	return s
}

type binder struct {
	src      Source
	stack    string
	env      Environment
	keys     map[string]Key
	problems Problems
	// imgs are the images.* keys, read before any image.
	imgs Images
	// secretSet records which secrets were configured, and whether encrypted.
	secretSet map[string]secretState
	// trees are the parsed top-level objects; asked, the keys looked up.
	trees map[string]tree
	asked map[string]bool
}

type secretState struct{ set, encrypted bool }

func newBinder(src Source) *binder {
	keys := map[string]Key{}
	for _, k := range Keys() {
		keys[k.Name] = k
	}
	return &binder{src: src, keys: keys, secretSet: map[string]secretState{},
		trees: map[string]tree{}, asked: map[string]bool{}}
}

func (b *binder) key(name string) Key {
	k, ok := b.keys[name]
	if !ok {
		panic("config: key " + name + " is read but not declared in Keys()")
	}
	return k
}

// raw returns the configured value, or the key's default for the environment.
func (b *binder) raw(name string) string {
	k := b.key(name)
	if v, ok := b.lookup(name); ok && v != "" {
		return v
	}
	if k.ByEnv != nil {
		return k.ByEnv[b.env]
	}
	switch d := k.Default.(type) {
	case string:
		return d
	case int:
		return strconv.Itoa(d)
	case bool:
		return strconv.FormatBool(d)
	default:
		return ""
	}
}

func (b *binder) problem(name, value, reason string) {
	if b.isSecret(name) && value != "" {
		value = "<secret>"
	}
	b.problems = append(b.problems, Problem{Key: Namespace + ":" + name, Value: value, Reason: reason})
}

// isSecret tells whether name, or the map key it is an entry of, holds secrets.
func (b *binder) isSecret(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	return b.keys[name].Secret || (base == ExtraSecretsKey && b.keys[base].Secret)
}

func (b *binder) environment(stackName string) Environment {
	v, ok := b.lookup("environment")
	if !ok || v == "" {
		if slices.Contains(Environments, Environment(stackName)) {
			return Environment(stackName)
		}
		b.problem("environment", "", fmt.Sprintf("is not set and the stack name %q is not an environment; "+
			"set it with `%s`", stackName, SetCommand(stackName, "environment", "<local|staging|prod>", false)))
		return ""
	}
	if !slices.Contains(Environments, Environment(v)) {
		b.problem("environment", v, "must be local, staging or prod")
	}
	return Environment(v)
}

func (b *binder) str(name string) string { return b.raw(name) }

func (b *binder) integer(name string, minimum int) int {
	v := b.raw(name)
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		b.problem(name, v, "must be a whole number")
	case n < minimum:
		b.problem(name, v, fmt.Sprintf("must be at least %d", minimum))
	}
	return n
}

func (b *binder) boolean(name string) bool {
	v := b.raw(name)
	t, err := strconv.ParseBool(v)
	if err != nil {
		b.problem(name, v, "must be true or false")
	}
	return t
}

func (b *binder) quantity(name string) resource.Quantity {
	v := b.raw(name)
	q, err := resource.ParseQuantity(v)
	if err != nil {
		b.problem(name, v, "is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 4Gi)")
		return resource.Quantity{}
	}
	if q.Sign() < 0 {
		b.problem(name, v, "must not be negative")
	}
	return q
}

func (b *binder) stringMap(name string) map[string]string {
	v := b.raw(name)
	out := map[string]string{}
	if v == "" {
		return out
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		b.problem(name, v, "must be a map of NAME: value (set entries with `"+SetCommand("", name+".NAME", "<value>", false)+"`)")
		return out
	}
	for k, val := range m {
		switch t := val.(type) {
		case string:
			out[k] = t
		case float64, bool:
			out[k] = fmt.Sprint(t)
		default:
			b.problem(name+"."+k, fmt.Sprint(val), "must be a string, number or boolean")
		}
	}
	return out
}

func (b *binder) component(c string) Component {
	replicas := b.integer(c+".replicas", 0)
	return Component{
		Enabled:  b.boolean(c + ".enabled"),
		Image:    b.image(c),
		Replicas: replicas,
		Resources: Resources{
			Requests: b.quantities(c + ".resources.requests"),
			Limits:   b.quantities(c + ".resources.limits"),
		},
		ExtraEnv:                  b.stringMap(c + ".extraEnv"),
		ServiceAccountAnnotations: b.stringMap(c + ".serviceAccount.annotations"),
		Rules:                     b.rules(c),
		Autoscaling:               b.autoscaling(c, replicas),
		Pod:                       b.pod(c),
	}
}

func (b *binder) quantities(prefix string) Quantities {
	return Quantities{
		CPU:              b.quantity(prefix + ".cpu"),
		Memory:           b.quantity(prefix + ".memory"),
		EphemeralStorage: b.quantity(prefix + ".ephemeralStorage"),
	}
}

func (b *binder) persistence(s string) Persistence {
	return Persistence{
		Enabled:      b.boolean(s + ".persistence.enabled"),
		Size:         b.quantity(s + ".persistence.size"),
		StorageClass: b.str(s + ".persistence.storageClass"),
	}
}

func (b *binder) secret(name string) string {
	v, ok := b.lookup(name)
	b.secretSet[name] = secretState{set: ok && v != "", encrypted: b.encrypted(name)}
	return b.raw(name)
}

func (b *binder) secrets() Secrets {
	sec := Secrets{Required: map[string]string{}}
	for _, spec := range RequiredSecrets {
		sec.Required[spec.EnvVar] = b.secret(spec.Key)
	}
	sec.Refs, sec.External = b.secretSources()
	sec.Extra = b.stringMap(ExtraSecretsKey)
	if len(sec.Extra) > 0 {
		b.secretSet[ExtraSecretsKey] = secretState{set: true, encrypted: b.encrypted(ExtraSecretsKey)}
	}
	return sec
}
