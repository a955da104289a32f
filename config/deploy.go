package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// DeployKey is the one object of settings that only Pulumi has: the chart
// never sees them.
const DeployKey = "deploy"

// Deploy modes.
const (
	ModeRaw  = "raw"
	ModeHelm = "helm"
)

// Kind is a setting's type as Pulumi.yaml declares it.
type Kind string

// The Pulumi.yaml config types this program uses.
const (
	KindString  Kind = "string"
	KindBoolean Kind = "boolean"
	KindObject  Kind = "object"
)

// Setting is one Pulumi-only setting, under rhesis:deploy.
type Setting struct {
	Path        string // inside deploy
	Kind        Kind
	Default     any
	Description string
}

// PulumiOnly is the one table of what only Pulumi decides. Everything else
// a stack sets is the chart's values.
var PulumiOnly = []Setting{
	{"mode", KindString, ModeRaw, "How to deploy: raw (each object the chart renders registered as a Pulumi resource of its own) or helm (the chart installed as a Helm release). Both create the same objects; a live stack cannot switch."},
	{"namespace", KindString, "rhesis", "Kubernetes namespace the stack deploys into (the Helm release's namespace)."},
	{"createNamespace", KindBoolean, true, "Create the namespace (and protect it while database.postgresql.persistence.keep is true). false deploys into one that exists already, made by another stack or the platform team: the program reads it, requires it to enforce Pod Security restricted, and never deletes it."},
	{"kubeContext", KindString, "", "kubeconfig context to deploy to. Empty means the current context."},
	{"chart", KindString, "", "The chart both modes deploy: empty means charts/rhesis of this repository; an OCI reference (oci://ghcr.io/rhesis-ai/charts/rhesis) means that published chart at deploy.chartVersion, pulled with Helm's registry login."},
	{"chartVersion", KindString, "", "The exact version (SemVer) of the published chart deploy.chart names; required with it, refused without it."},
	{"chartKeyring", KindString, "", "Public keys (a binary OpenPGP keyring, as `gpg --export` writes and `helm --keyring` reads; absolute or relative to the project folder) the published chart must be signed with: the program verifies the chart it pulls before rendering it, and helm mode has the provider verify what it installs. An unsigned or tampered chart is refused. Empty deploys the chart unverified."},
	{"images.build", KindBoolean, false, "Build the frontend, backend, worker and migrate images from deploy.images.context with Docker; false deploys the images the chart names."},
	{"images.context", KindString, "", "Path of a Rhesis checkout (absolute or relative to the project folder): the build context of every image. Required with deploy.images.build."},
	{"images.registry", KindString, "", "Registry and namespace built images are named under and pushed to (ghcr.io/acme: ghcr.io/acme/backend); empty names them rhesis-<image>, kept where they are built. Pushes log in with global.imageCredentials.username and secrets.registryPassword."},
	{"images.push", KindString, "", "Push built images (true or false). Empty means true when deploy.images.registry is set."},
	{"images.platform", KindString, "linux/amd64", "Platform the images are built for, os/arch[/variant]."},
}

// Deploy is rhesis:deploy, read and checked.
type Deploy struct {
	Mode string
	// Namespace is where the stack deploys; CreateNamespace false reads an
	// existing one instead of owning it.
	Namespace       string
	CreateNamespace bool
	KubeContext     string
	// Chart is an OCI reference of the published chart to deploy at
	// ChartVersion; empty means the repository's own chart.
	Chart        string
	ChartVersion string
	// ChartKeyring is the keyring as configured; ChartKeyringPath is it
	// made absolute.
	ChartKeyring     string
	ChartKeyringPath string
	Images           Builds
}

// Builds say whether and how the application images are built.
type Builds struct {
	Build bool
	// Context is the checkout as configured; ContextDir is it made absolute.
	Context    string
	ContextDir string
	Registry   string
	Push       bool
	Platform   string
}

// SettingOf returns the Pulumi-only setting at path.
func SettingOf(path string) (Setting, bool) {
	i := slices.IndexFunc(PulumiOnly, func(s Setting) bool { return s.Path == path })
	if i < 0 {
		return Setting{}, false
	}
	return PulumiOnly[i], true
}

// deployReader reads rhesis:deploy, collecting problems.
type deployReader struct {
	stack    string
	values   map[string]any
	problems Problems
}

func (r *deployReader) add(path, value, reason string) {
	r.problems = append(r.problems, Problem{Key: Namespace + ":" + DeployKey + "." + path, Value: value, Reason: reason})
}

// str is the text of a setting, or its default.
func (r *deployReader) str(path string) string {
	if v := lookupPath(r.values, path); v != nil {
		if s, ok := v.(string); ok && s != "" {
			return s
		} else if !ok {
			return fmt.Sprint(v)
		}
	}
	s, _ := SettingOf(path)
	return fmt.Sprint(s.Default)
}

func (r *deployReader) boolean(path string) bool {
	v := r.str(path)
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.add(path, v, "must be true or false")
	}
	return b
}

// known lists the table's paths, each with its parents.
func known() map[string]bool {
	out := map[string]bool{}
	for _, s := range PulumiOnly {
		out[s.Path] = true
		if parent, _, ok := strings.Cut(s.Path, "."); ok {
			out[parent] = true
		}
	}
	return out
}

func loadDeploy(src Source, stack string) (Deploy, Problems) {
	r := &deployReader{stack: stack, values: map[string]any{}}
	if raw, ok := src.Get(Namespace + ":" + DeployKey); ok && raw != "" {
		if err := json.Unmarshal([]byte(raw), &r.values); err != nil {
			return Deploy{}, Problems{{Key: Namespace + ":" + DeployKey, Reason: "must be an object of settings (`" +
				SetCommand(stack, DeployKey+".mode", "raw", false) + "`)"}}
		}
	}
	paths := known()
	var names []string
	for p := range paths {
		names = append(names, DeployKey+"."+p)
	}
	for _, p := range leafPaths(r.values, "") {
		if !paths[p] {
			reason := "is not a Pulumi-only setting; the chart's values go in their own keys (rhesis:backend, rhesis:ingress, ...)"
			if near := Nearest(DeployKey+"."+p, names); near != "" {
				reason = fmt.Sprintf("is not a setting; did you mean %s:%s?", Namespace, near)
			}
			r.add(p, "", reason)
		}
	}
	d := Deploy{
		Mode:            r.str("mode"),
		Namespace:       r.str("namespace"),
		CreateNamespace: r.boolean("createNamespace"),
		KubeContext:     r.str("kubeContext"),
		Chart:           r.str("chart"),
		ChartVersion:    r.str("chartVersion"),
		ChartKeyring:    r.str("chartKeyring"),
	}
	d.Images = r.builds(src.ProjectDir())
	d.ChartKeyringPath = r.keyring(src.ProjectDir(), d)
	if d.Mode != ModeRaw && d.Mode != ModeHelm {
		r.add("mode", d.Mode, "must be raw (the chart's objects registered by the program) or helm (the chart as a Helm release)")
	}
	for _, msg := range validation.IsDNS1123Label(d.Namespace) {
		r.add("namespace", d.Namespace, "is not a valid namespace name: "+msg)
	}
	r.checkChart(d)
	return d, r.problems
}

func (r *deployReader) builds(projectDir string) Builds {
	b := Builds{
		Build:    r.boolean("images.build"),
		Context:  r.str("images.context"),
		Registry: strings.TrimSuffix(r.str("images.registry"), "/"),
		Platform: r.str("images.platform"),
	}
	b.Push = b.Registry != ""
	if push := r.str("images.push"); push != "" {
		b.Push = r.boolean("images.push")
	}
	if b.Context != "" {
		b.ContextDir = b.Context
		if !filepath.IsAbs(b.ContextDir) {
			b.ContextDir = filepath.Join(projectDir, b.ContextDir)
		}
		b.ContextDir = filepath.Clean(b.ContextDir)
	}
	if b.Registry != "" {
		if _, err := reference.ParseNormalizedNamed(b.Registry + "/image"); err != nil {
			r.add("images.registry", b.Registry, "is not a registry and namespace, for example ghcr.io/acme or registry.example.com:5000/team")
		}
	}
	if _, err := platforms.Parse(b.Platform); err != nil {
		r.add("images.platform", b.Platform, "is not a platform; use os/arch[/variant], for example linux/amd64 or linux/arm64")
	}
	if !b.Build {
		return b
	}
	if b.Push && b.Registry == "" {
		r.add("images.push", "true", "needs deploy.images.registry, the registry to push to: `"+
			SetCommand(r.stack, "deploy.images.registry", "ghcr.io/<org>", false)+"`")
	}
	switch info, err := os.Stat(b.ContextDir); {
	case b.Context == "":
		r.add("images.context", "", "is required when deploy.images.build is true: the path of a Rhesis checkout "+
			"(git clone https://github.com/rhesis-ai/rhesis); or `"+SetCommand(r.stack, "deploy.images.build", "false", false)+"`")
	case err != nil || !info.IsDir():
		r.add("images.context", b.Context, b.ContextDir+" is not a folder; clone Rhesis there or point deploy.images.context at a checkout")
	}
	return b
}

// CheckBuilds refuses a build whose Dockerfile the checkout lacks; only the
// images of the components the chart runs are built.
func (s *Stack) CheckBuilds(builds []ImageBuild) Problems {
	var ps Problems
	seen := map[string]bool{}
	for _, b := range builds {
		if seen[b.Dockerfile] {
			continue
		}
		seen[b.Dockerfile] = true
		if _, err := os.Stat(b.Dockerfile); err != nil {
			rel, _ := filepath.Rel(b.Context, b.Dockerfile)
			ps = append(ps, Problem{Key: Namespace + ":" + DeployKey + ".images.context", Value: s.Deploy.Images.Context, Reason: fmt.Sprintf(
				"has no %s (needed for the %s image); is it the root of a Rhesis checkout?", filepath.ToSlash(rel), b.Name)})
		}
	}
	return ps
}

// keyring resolves and reads deploy.chartKeyring, which only a published
// chart can be verified with.
func (r *deployReader) keyring(projectDir string, d Deploy) string {
	if d.ChartKeyring == "" {
		return ""
	}
	if d.Chart == "" {
		r.add("chartKeyring", d.ChartKeyring, "is set without deploy.chart: the repository's own chart is not pulled, so there is no signature to verify; "+
			"set deploy.chart and deploy.chartVersion to the published chart, or unset deploy.chartKeyring")
		return ""
	}
	path := d.ChartKeyring
	if !filepath.IsAbs(path) {
		path = filepath.Join(projectDir, path)
	}
	path = filepath.Clean(path)
	if _, err := charts.LoadKeyring(path); err != nil {
		r.add("chartKeyring", d.ChartKeyring, "is not a keyring of public keys that Helm reads ("+err.Error()+"); "+
			"export the publisher's key in binary form, `gpg --export <key id> > keyring.gpg`, and point deploy.chartKeyring at that file")
		return ""
	}
	return path
}

// checkChart checks the published chart's reference and version.
func (r *deployReader) checkChart(d Deploy) {
	switch {
	case d.Chart == "" && d.ChartVersion != "":
		r.add("chartVersion", d.ChartVersion, "is set without deploy.chart: the repository's own chart has its own version; "+
			"set deploy.chart to the published chart (oci://ghcr.io/rhesis-ai/charts/rhesis), or unset deploy.chartVersion")
	case d.Chart == "":
	case !strings.HasPrefix(d.Chart, charts.OCIScheme) || path.Base(d.Chart) != charts.Name || strings.Contains(d.Chart, "@"):
		r.add("chart", d.Chart, "must be the OCI reference of the published chart without a tag, like "+
			"oci://ghcr.io/rhesis-ai/charts/rhesis (the version goes in deploy.chartVersion), or empty for charts/rhesis of this repository")
	case d.ChartVersion == "":
		r.add("chartVersion", "", "is required with deploy.chart: the exact version to deploy, such as "+charts.LocalVersion+
			" (a version range or a moving tag would make the deployment unrepeatable)")
	default:
		if _, err := semver.StrictNewVersion(d.ChartVersion); err != nil {
			r.add("chartVersion", d.ChartVersion, "must be an exact SemVer version such as "+charts.LocalVersion+": "+err.Error())
		}
	}
}
