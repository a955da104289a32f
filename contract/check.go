package contract

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// PrepareDatabase is the init container that holds backend and worker
// until the database is at their migrations.
const PrepareDatabase = "prepare-database"

// Violation is one way a render breaks the contract.
type Violation struct {
	Object    string // Kind/name
	Container string
	Item      string // the contract item, e.g. requires SESSION_SECRET_KEY
	Source    string // where in the release's source the item was read
	Problem   string
}

func (v Violation) String() string {
	where := v.Object
	if v.Container != "" {
		where += " container " + v.Container
	}
	return fmt.Sprintf("%s: %s: %s (contract: %s)", where, v.Item, v.Problem, v.Source)
}

// Render is a set of rendered objects (as JSON-like maps) and the image
// references the deployment builds itself, which need not be published.
type Render struct {
	Objects []map[string]any
	Built   map[string]bool
}

// Check lists every violation of the contract in the render.
func (c *Contract) Check(r Render) []Violation {
	ck := &checker{c: c, r: r, byKind: map[string][]map[string]any{}}
	for _, o := range r.Objects {
		k, _ := o["kind"].(string)
		ck.byKind[k] = append(ck.byKind[k], o)
	}
	for _, kind := range []string{"Deployment", "Job", "CronJob"} {
		for _, o := range ck.byKind[kind] {
			ck.workload(o)
		}
	}
	ck.startOrder()
	ck.trust()
	ck.sharedStorage()
	ck.storageSchemes()
	ck.importSessions()
	ck.claims()
	ck.exposure()
	ck.database()
	ck.ingress()
	ck.apiPrefix()
	ck.queueScaling()
	ck.connections()
	ck.shutdown()
	sort.SliceStable(ck.out, func(i, j int) bool { return ck.out[i].String() < ck.out[j].String() })
	return ck.out
}

type checker struct {
	c      *Contract
	r      Render
	byKind map[string][]map[string]any
	out    []Violation
	// seen are the app's containers in the render, for the checks across them.
	seen []seenContainer
}

// seenContainer is one of the app's containers as rendered.
type seenContainer struct {
	obj, name string
	cm        map[string]any
	env       map[string]envValue
	want      Container
}

func (ck *checker) add(obj, container, item, source, problem string) {
	ck.out = append(ck.out, Violation{Object: obj, Container: container, Item: item, Source: source, Problem: problem})
}

// podOf is a workload's pod spec and its Kind/name.
func podOf(o map[string]any) (spec map[string]any, name string) {
	name, _ = dig(o, "metadata", "name").(string)
	name = str(o["kind"]) + "/" + name
	switch o["kind"] {
	case "CronJob":
		spec, _ = dig(o, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
	default:
		spec, _ = dig(o, "spec", "template", "spec").(map[string]any)
	}
	return spec, name
}

func (ck *checker) workload(o map[string]any) {
	pod, obj := podOf(o)
	for _, ctr := range list(pod["containers"]) {
		cm, _ := ctr.(map[string]any)
		name := str(cm["name"])
		want, ok := ck.c.Containers[name]
		if !ok {
			continue // sidecars and the stores are not Rhesis containers
		}
		ck.container(obj, pod, cm, name, want)
	}
}

// env is a container's variables as the process sees them: a literal, a
// ConfigMap key or a Secret key, each resolved against the render.
type envValue struct {
	value    string
	secret   bool
	resolved bool
	from     string
}

func (ck *checker) envOf(cm map[string]any) map[string]envValue {
	env := map[string]envValue{}
	for _, ef := range list(cm["envFrom"]) {
		if ref := str(dig(ef, "configMapRef", "name")); ref != "" {
			data, found := ck.data("ConfigMap", ref)
			for k, v := range data {
				env[k] = envValue{value: v, resolved: found, from: "ConfigMap " + ref}
			}
		}
	}
	for _, e := range list(cm["env"]) {
		name := str(dig(e, "name"))
		switch {
		case dig(e, "valueFrom", "secretKeyRef") != nil:
			ref, key := str(dig(e, "valueFrom", "secretKeyRef", "name")), str(dig(e, "valueFrom", "secretKeyRef", "key"))
			data, _ := ck.data("Secret", ref)
			v, ok := data[key]
			env[name] = envValue{value: v, secret: true, resolved: ok, from: "Secret " + ref + " key " + key}
		case dig(e, "valueFrom", "configMapKeyRef") != nil:
			ref, key := str(dig(e, "valueFrom", "configMapKeyRef", "name")), str(dig(e, "valueFrom", "configMapKeyRef", "key"))
			data, _ := ck.data("ConfigMap", ref)
			v, ok := data[key]
			env[name] = envValue{value: v, resolved: ok, from: "ConfigMap " + ref + " key " + key}
		default:
			env[name] = expand(str(dig(e, "value")), env)
		}
	}
	return env
}

// dependentVar is a reference $(NAME) to a variable defined before it, which
// Kubernetes expands in a literal value ($$ escapes a $).
var dependentVar = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expand is a literal as the process sees it: the variables it refers to
// expanded, and secret when any of them is.
func expand(literal string, before map[string]envValue) envValue {
	out := envValue{resolved: true, from: "a literal"}
	out.value = dependentVar.ReplaceAllStringFunc(literal, func(m string) string {
		if m == "$$" {
			return "$"
		}
		ref, ok := before[m[2:len(m)-1]]
		if !ok {
			return m // Kubernetes leaves an unknown reference as written
		}
		if ref.secret {
			out.secret, out.from = true, "a literal expanding "+m+" from "+ref.from
		}
		out.resolved = out.resolved && ref.resolved
		return ref.value
	})
	return out
}

// data is the keys of a rendered ConfigMap or Secret (data or stringData);
// for a Secret an ExternalSecret fills, the keys it writes, of unknown value.
func (ck *checker) data(kind, name string) (map[string]string, bool) {
	if kind == "Secret" {
		for _, o := range ck.byKind["ExternalSecret"] {
			if str(dig(o, "spec", "target", "name")) == name {
				out := map[string]string{}
				for _, d := range list(dig(o, "spec", "data")) {
					out[str(dig(d, "secretKey"))] = ""
				}
				return out, true
			}
		}
	}
	for _, o := range ck.byKind[kind] {
		if str(dig(o, "metadata", "name")) != name {
			continue
		}
		out := map[string]string{}
		for _, field := range []string{"data", "stringData"} {
			if m, ok := o[field].(map[string]any); ok {
				for k, v := range m {
					out[k] = fmt.Sprint(v)
				}
			}
		}
		return out, true
	}
	return nil, false
}

func (ck *checker) container(obj string, pod, cm map[string]any, name string, want Container) {
	env := ck.envOf(cm)
	required := append([]EnvVar{}, want.Requires...)
	for _, cond := range want.RequiresWhen {
		applies := true
		for k, v := range cond.When {
			applies = applies && env[k].value == v
		}
		if applies {
			required = append(required, cond.EnvVar)
		}
	}
	for _, rq := range required {
		item := "requires " + rq.Name
		got, ok := env[rq.Name]
		switch {
		case !ok:
			ck.add(obj, name, item, rq.Source, "not set")
		case !got.resolved:
			ck.add(obj, name, item, rq.Source, "from "+got.from+", which the render does not have")
		case rq.Secret && !got.secret:
			ck.add(obj, name, item, rq.Source, "a secret, but set from "+got.from)
		case got.value == "" && !got.secret:
			ck.add(obj, name, item, rq.Source, "empty")
		case rq.Value != "" && got.value != rq.Value:
			ck.add(obj, name, item, rq.Source, fmt.Sprintf("is %q, the code needs %q", got.value, rq.Value))
		case len(rq.Values) > 0 && !slices.Contains(rq.Values, got.value):
			ck.add(obj, name, item, rq.Source, fmt.Sprintf("is %q, the code accepts %s", got.value, strings.Join(rq.Values, ", ")))
		}
	}
	for _, tg := range want.Together {
		var set, unset []string
		for _, n := range tg.Names {
			if _, ok := env[n]; ok {
				set = append(set, n)
			} else {
				unset = append(unset, n)
			}
		}
		if len(set) > 0 && len(unset) > 0 {
			ck.add(obj, name, strings.Join(tg.Names, " with "), tg.Source, strings.Join(set, ", ")+" set without "+strings.Join(unset, ", "))
		}
	}
	ck.image(obj, cm, name, want)
	ck.command(obj, cm, name, want)
	ck.probes(obj, cm, name, want, env)
	ck.user(obj, pod, cm, name, want)
	ck.writable(obj, pod, cm, name, want, env)
	ck.seen = append(ck.seen, seenContainer{obj: obj, name: name, cm: cm, env: env, want: want})
}

// trust: a CA bundle that one of the app's containers trusts, every one that
// calls out over TLS trusts, through each variable its runtime and clients
// read, each naming a file on a volume the container mounts.
func (ck *checker) trust() {
	bundle := ""
	for _, c := range ck.seen {
		if c.want.Trust == nil {
			continue
		}
		for _, v := range c.want.Trust.Variables {
			if got, ok := c.env[v]; ok && bundle == "" {
				bundle = got.value
			}
		}
	}
	if bundle == "" {
		return
	}
	for _, c := range ck.seen {
		if c.want.Trust == nil {
			continue
		}
		for _, v := range c.want.Trust.Variables {
			item := fmt.Sprintf("trusts the CA bundle through %s (%s)", v, c.want.Trust.Runtime)
			got, ok := c.env[v]
			switch {
			case !ok:
				ck.add(c.obj, c.name, item, c.want.Trust.Source, "not set, while other containers trust "+bundle)
			case !mounted(c.cm, got.value):
				ck.add(c.obj, c.name, item, c.want.Trust.Source, got.value+" is on no volume of the container")
			}
		}
	}
}

func (ck *checker) image(obj string, cm map[string]any, name string, want Container) {
	ref := str(cm["image"])
	if ck.r.Built[ref] {
		return
	}
	item := "image " + want.Image
	if !ck.c.published(want.Image) {
		ck.add(obj, name, item, ck.c.Images.Source, "is not published and the stack does not build "+ref)
		return
	}
	published := ck.c.Images.Registry + "/" + want.Image + ":" + ck.c.Images.Tag
	if ref != published {
		ck.add(obj, name, item, ck.c.Images.Source, fmt.Sprintf("runs %s, which is neither the published %s nor built by the stack", ref, published))
	}
}

// command compares what the container runs (its command, else the image's
// own CMD) with the contract's.
func (ck *checker) command(obj string, cm map[string]any, name string, want Container) {
	if want.Command.Value == "" {
		return
	}
	runs := strings.Join(strs(cm["command"]), " ")
	if runs == "" {
		runs = ck.c.defaultCommand(ck.imageName(str(cm["image"]), want))
	}
	if runs != want.Command.Value {
		ck.add(obj, name, "command "+want.Command.Value, want.Command.Source, fmt.Sprintf("runs %q", runs))
	}
}

// imageName is the contract name of the image a reference runs (backend for
// ghcr.io/rhesis-ai/backend:0.13.0); a built image is taken to be the one
// the container's contract names.
func (ck *checker) imageName(ref string, want Container) string {
	repo := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo = ref[:i]
	}
	if strings.HasPrefix(repo, ck.c.Images.Registry+"/") {
		return strings.TrimPrefix(repo, ck.c.Images.Registry+"/")
	}
	return want.Image
}

func (ck *checker) probes(obj string, cm map[string]any, name string, want Container, env map[string]envValue) {
	ports := map[string]int{}
	for _, p := range list(cm["ports"]) {
		ports[str(dig(p, "name"))] = toInt(dig(p, "containerPort"))
	}
	if want.Port.Variable != "" {
		if v, ok := env[want.Port.Variable]; ok && v.value != fmt.Sprint(want.Port.Number) {
			ck.add(obj, name, "port "+want.Port.Variable, want.Port.Source, fmt.Sprintf("is %s, the probes and Service use %d", v.value, want.Port.Number))
		}
	}
	for _, kind := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		p, ok := cm[kind].(map[string]any)
		if !ok {
			continue
		}
		port := dig(p, "httpGet", "port")
		if port == nil {
			port = dig(p, "tcpSocket", "port")
		}
		if port != nil {
			n, named := ports[fmt.Sprint(port)]
			if !named {
				n = toInt(port)
			}
			if n != want.Port.Number {
				ck.add(obj, name, fmt.Sprintf("port %d", want.Port.Number), want.Port.Source, fmt.Sprintf("%s asks port %v", kind, port))
			}
		}
		path := str(dig(p, "httpGet", "path"))
		if path == "" {
			continue
		}
		i := slices.IndexFunc(want.Health, func(h Path) bool { return h.Path == path })
		switch {
		case i < 0:
			ck.add(obj, name, "health paths", sourcesOf(want.Health), fmt.Sprintf("%s asks %s, which the code does not serve as a health route", kind, path))
		case want.Health[i].Auth:
			ck.add(obj, name, "health "+path, want.Health[i].Source, kind+" asks a path that needs authentication")
		}
	}
}

func (ck *checker) user(obj string, pod, cm map[string]any, name string, want Container) {
	uid := dig(cm, "securityContext", "runAsUser")
	if uid == nil {
		uid = dig(pod, "securityContext", "runAsUser")
	}
	if uid == nil {
		// The platform assigns the user (OpenShift): the image must run as any.
		if want.User.AnyUser == nil {
			ck.add(obj, name, fmt.Sprintf("user %d (%s)", want.User.UID, want.User.Name), want.User.Source,
				"runs as a user the platform assigns, which the image is not known to support")
		}
		return
	}
	if toInt(uid) != want.User.UID {
		ck.add(obj, name, fmt.Sprintf("user %d (%s)", want.User.UID, want.User.Name), want.User.Source, fmt.Sprintf("runs as %v", uid))
	}
}

// writable: the root filesystem is read-only, every path the app writes
// has a volume mounted (and the variable that names it, HOME, points there),
// and no emptyDir is mounted where the app does not write. A path whose
// condition does not hold (storage in a bucket) needs nothing.
func (ck *checker) writable(obj string, pod, cm map[string]any, name string, want Container, env map[string]envValue) {
	var applicable []Writable
	var writes, sources []string
	for _, w := range want.Writable {
		if w.applies(env) {
			applicable = append(applicable, w)
			writes, sources = append(writes, w.Path), append(sources, w.Source)
		}
	}
	source := strings.Join(sources, "; ")
	if ro, _ := dig(cm, "securityContext", "readOnlyRootFilesystem").(bool); !ro {
		ck.add(obj, name, "read-only root", source, "the root filesystem is writable; the app writes only to "+strings.Join(writes, ", "))
		return
	}
	for _, w := range applicable {
		item := "writable " + w.Path
		if !mounted(cm, w.Path) {
			ck.add(obj, name, item, w.Source, "the root filesystem is read-only and nothing is mounted there")
		}
		if got, ok := env[w.Variable]; w.Variable != "" && ok && got.value != w.Path {
			ck.add(obj, name, item, w.Source, fmt.Sprintf("%s is %q, the app would write there", w.Variable, got.value))
		}
	}
	scratch := map[string]bool{}
	for _, v := range list(pod["volumes"]) {
		if dig(v, "emptyDir") != nil {
			scratch[str(dig(v, "name"))] = true
		}
	}
	for _, m := range list(cm["volumeMounts"]) {
		if path := str(dig(m, "mountPath")); scratch[str(dig(m, "name"))] && !slices.Contains(writes, path) {
			ck.add(obj, name, "writable "+path, source, "an emptyDir where the app does not write (it writes to "+strings.Join(writes, ", ")+")")
		}
	}
}

func (w Writable) applies(env map[string]envValue) bool {
	for k, prefix := range w.When {
		if got, ok := env[k]; ok && !strings.HasPrefix(got.value, prefix) {
			return false
		}
	}
	return true
}

func mounted(cm map[string]any, path string) bool {
	return slices.ContainsFunc(list(cm["volumeMounts"]), func(m any) bool { return covers(str(dig(m, "mountPath")), path) })
}

// covers reports whether a mount at mountPath holds path.
func covers(mountPath, path string) bool {
	return path == mountPath || strings.HasPrefix(path, strings.TrimSuffix(mountPath, "/")+"/")
}

// startOrder: a backend that skips migrations needs a migration Job that is
// not a Helm hook (a post-install hook waits for the Deployments that wait
// for it under --wait; a pre-install one for a database not yet created), and
// backend and worker must wait for its result in their own pods.
func (ck *checker) startOrder() {
	migrate := ck.c.Containers["migrate"]
	for _, o := range ck.byKind["Deployment"] {
		pod, obj := podOf(o)
		name := str(dig(o, "metadata", "name"))
		if name != "backend" && name != "worker" {
			continue
		}
		main := containerNamed(pod, name)
		if main == nil {
			continue
		}
		skips := ck.envOf(main)["SKIP_MIGRATIONS"].value == "true"
		waits := containerIn(pod, "initContainers", PrepareDatabase)
		if name == "backend" && !skips {
			if replicas, set := dig(o, "spec", "replicas").(float64); !set || replicas > 1 {
				ck.add(obj, name, "migrations", migrate.Command.Source, "several backend pods would each run ./migrate.sh at start, at the same time")
			}
			continue
		}
		if !skips && ck.job() == nil {
			continue
		}
		if waits == nil {
			ck.add(obj, name, "start order", migrate.Command.Source, "starts without waiting for the migrations (init container "+PrepareDatabase+")")
		} else if str(waits["image"]) != str(main["image"]) {
			ck.add(obj, name, "start order", migrate.Command.Source, "waits for the migrations with another image than it runs")
		}
	}
	backend := ck.deployment("backend")
	if backend == nil {
		return
	}
	pod, _ := podOf(backend)
	if m := containerNamed(pod, "backend"); m == nil || ck.envOf(m)["SKIP_MIGRATIONS"].value != "true" {
		return
	}
	job := ck.job()
	if job == nil {
		ck.add("Deployment/backend", "backend", "migrations", migrate.Command.Source, "SKIP_MIGRATIONS is true and no Job runs ./migrate.sh")
		return
	}
	_, obj := podOf(job)
	if hook := str(dig(job, "metadata", "annotations", "helm.sh/hook")); hook != "" {
		ck.add(obj, "migrate", "start order", migrate.Command.Source,
			"is the Helm hook "+hook+": with --wait the first install holds it until backend and worker are ready, and they wait for it")
	}
}

// job is the migration Job of the render.
func (ck *checker) job() map[string]any {
	for _, o := range ck.byKind["Job"] {
		pod, _ := podOf(o)
		if containerNamed(pod, "migrate") != nil {
			return o
		}
	}
	return nil
}

func (ck *checker) deployment(name string) map[string]any {
	for _, o := range ck.byKind["Deployment"] {
		if str(dig(o, "metadata", "name")) == name {
			return o
		}
	}
	return nil
}

// sharedStorage: with files on a path, backend and worker mount the same claim there.
func (ck *checker) sharedStorage() {
	shared := ck.c.Storage.Shared
	claims := map[string]string{}
	for _, name := range []string{"backend", "worker"} {
		o := ck.deployment(name)
		if o == nil {
			continue
		}
		pod, obj := podOf(o)
		main := containerNamed(pod, name)
		if uri := ck.envOf(main)["STORAGE_SERVICE_URI"].value; uri != "" && !strings.HasPrefix(uri, "file://") {
			continue
		}
		claim := claimAt(pod, main, shared.Path)
		if claim == "" {
			ck.add(obj, name, "shared storage "+shared.Path, shared.Source, "no claim is mounted there, so backend and worker would not see each other's files")
		}
		claims[name] = claim
	}
	if b, w := claims["backend"], claims["worker"]; b != "" && w != "" && b != w {
		ck.add("Deployment/worker", "worker", "shared storage "+shared.Path, shared.Source, fmt.Sprintf("mounts claim %s, the backend %s", w, b))
	}
}

// storageSchemes: backend and worker store files through a scheme their
// images can serve, with the variable it needs.
func (ck *checker) storageSchemes() {
	st := ck.c.Storage
	for _, name := range []string{"backend", "worker"} {
		o := ck.deployment(name)
		if o == nil {
			continue
		}
		pod, obj := podOf(o)
		env := ck.envOf(containerNamed(pod, name))
		uri := env["STORAGE_SERVICE_URI"].value
		if uri == "" {
			uri = st.Shared.Default
		}
		scheme, _, _ := strings.Cut(uri, "://")
		i := slices.IndexFunc(st.Schemes, func(s Scheme) bool { return s.Scheme == scheme })
		if i < 0 {
			ck.add(obj, name, "storage scheme "+scheme, st.Fallback.Source,
				fmt.Sprintf("the images cannot serve %s, so files would go to each pod's %s and be lost", uri, st.Fallback.Path))
			continue
		}
		if need := st.Schemes[i].Requires; need != "" && !has(env, need) {
			ck.add(obj, name, "storage scheme "+scheme, st.Schemes[i].Source,
				fmt.Sprintf("%s is not set, so files would go to each pod's %s and be lost", need, st.Fallback.Path))
		}
	}
}

// importSessions: every backend pod sees the same import directory, a claim
// mounted by every one of them, when more than one may run.
func (ck *checker) importSessions() {
	o := ck.deployment("backend")
	if o == nil {
		return
	}
	is := ck.c.Storage.ImportSessions
	pod, obj := podOf(o)
	main := containerNamed(pod, "backend")
	dir := ck.envOf(main)[is.Variable].value
	if dir == "" {
		dir = is.Default
	}
	if claimAt(pod, main, dir) == "" {
		ck.add(obj, "backend", "import sessions in "+dir, is.Source,
			"not on a claim: a file import's next request may reach another backend pod, which would not find it")
	}
}

func has(env map[string]envValue, name string) bool { _, ok := env[name]; return ok }

// claimAt is the claim mounted at path or above it in container c of pod, or "".
func claimAt(pod, c map[string]any, path string) string {
	for _, m := range list(c["volumeMounts"]) {
		if !covers(str(dig(m, "mountPath")), path) {
			continue
		}
		for _, v := range list(pod["volumes"]) {
			if str(dig(v, "name")) == str(dig(m, "name")) {
				if claim := str(dig(v, "persistentVolumeClaim", "claimName")); claim != "" {
					return claim
				}
			}
		}
	}
	return ""
}

// claims: a ReadWriteMany claim on the cluster's default class does not bind
// on the default classes of the big clouds.
func (ck *checker) claims() {
	for _, o := range ck.byKind["PersistentVolumeClaim"] {
		modes := strs(dig(o, "spec", "accessModes"))
		if slices.Contains(modes, "ReadWriteMany") && str(dig(o, "spec", "storageClassName")) == "" {
			ck.add("PersistentVolumeClaim/"+str(dig(o, "metadata", "name")), "", "shared storage", ck.c.Storage.Shared.Source,
				"ReadWriteMany on the default StorageClass, which GKE, EKS and AKS cannot provision")
		}
	}
}

// exposure: a container that serves something only the kubelet may see
// (the worker's /debug/env) admits no traffic from other pods.
func (ck *checker) exposure() {
	for name, want := range ck.c.Containers {
		if len(want.Exposes) == 0 || ck.deployment(name) == nil {
			continue
		}
		isolated := false
		for _, np := range ck.byKind["NetworkPolicy"] {
			if str(dig(np, "spec", "podSelector", "matchLabels", "app")) == name && slices.Contains(strs(dig(np, "spec", "policyTypes")), "Ingress") {
				isolated = len(list(dig(np, "spec", "ingress"))) == 0
			}
		}
		if !isolated {
			ck.add("Deployment/"+name, name, "exposes "+want.Exposes[0].Path, want.Exposes[0].Source,
				"no NetworkPolicy keeps other pods away from it")
		}
	}
}

// database: an in-cluster PostgreSQL ships the extensions the migrations
// create, and the apps do not connect as its owner.
func (ck *checker) database() {
	obj, image, owner, cluster := ck.databaseServer()
	if obj == "" {
		return
	}
	// The owner is a superuser (the image's POSTGRES_USER; the Cluster's
	// managed role): row-level security does not apply to it.
	for _, app := range []string{"backend", "worker"} {
		d := ck.deployment(app)
		if d == nil {
			continue
		}
		p, dobj := podOf(d)
		if user := ck.envOf(containerNamed(p, app))["APP_DB_USER"].value; user == owner {
			ck.add(dobj, app, "row-level security", ck.c.Database.RowLevelSecurity.Source,
				"connects as "+user+", the database's owner and a superuser, which bypasses every policy")
		}
	}
	for _, ext := range ck.c.Database.Extensions {
		if cluster {
			cnpg := ext.CloudNativePG
			if !strings.HasPrefix(image, cnpg.Repository+":") || !strings.Contains(image, cnpg.Tag) {
				ck.add(obj, "", "extension "+ext.Name, ext.Source+"; "+cnpg.Source,
					fmt.Sprintf("runs %s, not a %s image whose tag holds %s", image, cnpg.Repository, cnpg.Tag))
			}
			continue
		}
		repo := strings.SplitN(ext.Image, ":", 2)[0]
		if !strings.HasPrefix(image, repo+":") {
			ck.add(obj, "postgres", "extension "+ext.Name, ext.Source, fmt.Sprintf("runs %s, not %s", image, ext.Image))
		}
	}
}

// databaseServer is the in-cluster database: the single pod's server
// container, or the CloudNativePG Cluster; obj is empty for none.
func (ck *checker) databaseServer() (obj, image, owner string, cluster bool) {
	if o := ck.deployment("postgres"); o != nil {
		pod, obj := podOf(o)
		server := containerNamed(pod, "postgres")
		return obj, str(server["image"]), ck.envOf(server)["POSTGRES_USER"].value, false
	}
	for _, o := range ck.byKind["Cluster"] {
		if str(dig(o, "metadata", "name")) == "postgres" {
			owner := str(dig(o, "spec", "bootstrap", "initdb", "owner")) + str(dig(o, "spec", "bootstrap", "recovery", "owner"))
			return "Cluster/postgres", str(dig(o, "spec", "imageName")), owner, true
		}
	}
	return "", "", "", false
}

// ingress: an ingress-nginx Ingress lets the app's largest upload and its
// longest wait through (other controllers have no standard annotation).
func (ck *checker) ingress() {
	in := ck.c.Ingress
	for _, o := range ck.byKind["Ingress"] {
		if str(dig(o, "spec", "ingressClassName")) != "nginx" {
			continue
		}
		obj := "Ingress/" + str(dig(o, "metadata", "name"))
		annotation := func(k string) string { return str(dig(o, "metadata", "annotations", "nginx.ingress.kubernetes.io/"+k)) }
		if body := nginxSize(annotation("proxy-body-size")); body >= 0 && body < in.BodyBytes.Value {
			ck.add(obj, "", fmt.Sprintf("uploads of %d bytes", in.BodyBytes.Value), in.BodyBytes.Source,
				fmt.Sprintf("proxy-body-size lets %d bytes through", body))
		}
		for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			if s := int64(toInt(annotation(k))); s < in.ReadTimeoutSeconds.Value {
				ck.add(obj, "", fmt.Sprintf("waits of %d s", in.ReadTimeoutSeconds.Value), in.ReadTimeoutSeconds.Source,
					fmt.Sprintf("%s is %d s (ingress-nginx's default 60 s when unset)", k, max(s, 60)))
			}
		}
	}
}

// apiPrefix: a route to the backend under a path prefix strips it (an
// HTTPRoute's URLRewrite, ingress-nginx's rewrite-target).
func (ck *checker) apiPrefix() {
	src := ck.c.Ingress.APIAtRoot.Source
	for _, o := range ck.byKind["HTTPRoute"] {
		for _, rule := range list(dig(o, "spec", "rules")) {
			prefix := str(dig(first(dig(rule, "matches")), "path", "value"))
			if prefix == "/" || str(dig(first(dig(rule, "backendRefs")), "name")) != "backend" {
				continue
			}
			stripped := false
			for _, f := range list(dig(rule, "filters")) {
				stripped = stripped || str(dig(f, "urlRewrite", "path", "replacePrefixMatch")) == "/"
			}
			if !stripped {
				ck.add("HTTPRoute/"+str(dig(o, "metadata", "name")), "", "the API at /", src,
					fmt.Sprintf("requests under %s reach the backend with the prefix, which it serves no route under", prefix))
			}
		}
	}
	for _, o := range ck.byKind["Ingress"] {
		rewrite := str(dig(o, "metadata", "annotations", "nginx.ingress.kubernetes.io/rewrite-target"))
		for _, rule := range list(dig(o, "spec", "rules")) {
			for _, p := range list(dig(rule, "http", "paths")) {
				if path := str(dig(p, "path")); path != "/" && str(dig(p, "backend", "service", "name")) == "backend" &&
					(str(dig(o, "spec", "ingressClassName")) != "nginx" || rewrite == "") {
					ck.add("Ingress/"+str(dig(o, "metadata", "name")), "", "the API at /", src,
						fmt.Sprintf("requests under %s reach the backend with the prefix, which it serves no route under", path))
				}
			}
		}
	}
}

// nginxSize is an nginx size ("10m", "1g", "512k", bytes; "0" is no limit,
// -1 for none) in bytes; unset is ingress-nginx's default 1m.
func nginxSize(v string) int64 {
	if v == "" {
		v = "1m"
	}
	unit := map[byte]int64{'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30}
	mult := int64(1)
	if m, ok := unit[strings.ToLower(v)[len(v)-1]]; ok {
		mult, v = m, v[:len(v)-1]
	}
	n := int64(toInt(v))
	if n == 0 {
		return -1 // no limit
	}
	return n * mult
}

func containerNamed(pod map[string]any, name string) map[string]any {
	return containerIn(pod, "containers", name)
}

func containerIn(pod map[string]any, field, name string) map[string]any {
	for _, c := range list(pod[field]) {
		if cm, ok := c.(map[string]any); ok && str(cm["name"]) == name {
			return cm
		}
	}
	return nil
}

func sourcesOf(paths []Path) string {
	var s []string
	for _, p := range paths {
		s = append(s, p.Source)
	}
	return strings.Join(s, "; ")
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, str(x))
	}
	return out
}

func toInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	var i int
	_, _ = fmt.Sscan(fmt.Sprint(v), &i)
	return i
}

// queueScaling: a ScaledObject that scales a container on its queues'
// length watches every queue the container consumes.
func (ck *checker) queueScaling() {
	for _, so := range ck.byKind["ScaledObject"] {
		target := str(dig(so, "spec", "scaleTargetRef", "name"))
		want, ok := ck.c.Containers[target]
		if !ok {
			continue
		}
		watched := map[string]bool{}
		for _, tr := range list(dig(so, "spec", "triggers")) {
			watched[str(dig(tr, "metadata", "listName"))] = true
		}
		for _, q := range want.Queues {
			if !watched[q.Name] {
				ck.add("ScaledObject/"+str(dig(so, "metadata", "name")), target, "consumes the queue "+q.Name, q.Source,
					"not watched: its waiting tasks would never add a replica")
			}
		}
	}
}

// connections: the in-cluster PostgreSQL admits every connection backend
// and worker can hold at once: per Deployment, its most pods (the
// autoscaler's maximum, else replicas), the pods a rollout adds (maxSurge)
// and those still stopping (one when minReadySeconds covers the grace
// period, else every old pod), times its processes, times each process's pool.
func (ck *checker) connections() {
	pg := ck.deployment("postgres")
	if pg == nil {
		return
	}
	load := ck.c.Load
	total, terms := 0, []string{}
	for _, name := range []string{"backend", "worker"} {
		o := ck.deployment(name)
		if o == nil {
			continue
		}
		pod, _ := podOf(o)
		procs := load.WorkerProcesses.Value
		if name == "backend" {
			procs = int64(load.BackendProcesses.count(ck.envOf(containerNamed(pod, name))))
		}
		pods := ck.maxPods(name, o)
		surge := toInt(dig(o, "spec", "strategy", "rollingUpdate", "maxSurge"))
		stopping := pods
		if toInt(dig(o, "spec", "minReadySeconds")) >= grace(pod) {
			stopping = 1
		}
		n := (pods + surge + stopping) * int(procs) * int(load.PoolPerProcess.Value)
		total += n
		terms = append(terms, fmt.Sprintf("%s (%d+%d+%d pods x %d x %d)", name, pods, surge, stopping, procs, load.PoolPerProcess.Value))
	}
	pod, obj := podOf(pg)
	admits := 100
	args := strs(containerNamed(pod, "postgres")["args"])
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "max_connections="); ok && i > 0 && args[i-1] == "-c" {
			admits = toInt(v)
		}
	}
	if free := admits - int(load.ReservedConnections.Value); free < total {
		ck.add(obj, "postgres", fmt.Sprintf("connections of %d processes' pools", total), load.PoolPerProcess.Source,
			fmt.Sprintf("max_connections %d admits %d to the app, but %s can open %d", admits, free, strings.Join(terms, " + "), total))
	}
}

// maxPods is the most pods a Deployment runs: its autoscaler's maximum (a
// HorizontalPodAutoscaler or KEDA ScaledObject naming it), else its replicas.
func (ck *checker) maxPods(name string, o map[string]any) int {
	for _, h := range ck.byKind["HorizontalPodAutoscaler"] {
		if str(dig(h, "spec", "scaleTargetRef", "name")) == str(dig(o, "metadata", "name")) {
			return toInt(dig(h, "spec", "maxReplicas"))
		}
	}
	for _, s := range ck.byKind["ScaledObject"] {
		if str(dig(s, "spec", "scaleTargetRef", "name")) == str(dig(o, "metadata", "name")) {
			return toInt(dig(s, "spec", "maxReplicaCount"))
		}
	}
	if r, ok := dig(o, "spec", "replicas").(float64); ok {
		return int(r)
	}
	return 1
}

// count is the processes of a container with variables env.
func (p Processes) count(env map[string]envValue) int {
	for k, v := range p.When {
		if env[k].value != v {
			return p.Otherwise
		}
	}
	if v, ok := env[p.Variable]; ok {
		return toInt(v.value)
	}
	return p.Default
}

// shutdown: a stopping worker pod may finish the longest task before it is killed.
func (ck *checker) shutdown() {
	o := ck.deployment("worker")
	if o == nil {
		return
	}
	pod, obj := podOf(o)
	if l, g := ck.c.Load.LongestTaskSeconds, grace(pod); int64(g) < l.Value {
		ck.add(obj, "worker", fmt.Sprintf("tasks of up to %d s", l.Value), l.Source,
			fmt.Sprintf("terminationGracePeriodSeconds %d kills running tasks at every rollout and scale-down", g))
	}
}

// grace is a pod's terminationGracePeriodSeconds, Kubernetes' 30 unless set.
func grace(pod map[string]any) int {
	if g, ok := pod["terminationGracePeriodSeconds"]; ok {
		return toInt(g)
	}
	return 30
}

// first is a list's first element, or nil.
func first(v any) any {
	if l := list(v); len(l) > 0 {
		return l[0]
	}
	return nil
}
