package charts

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// ReleaseName is the release (and instance label) every object carries:
// the Helm release's name, and raw mode's, after the values' namePrefix.
const ReleaseName = "rhesis"

// ReleaseFor is the release of objects named with namePrefix prefix, so
// that two stacks sharing a namespace have a Helm release each.
func ReleaseFor(prefix string) string { return prefix + ReleaseName }

// Object is one rendered Kubernetes object and the template it came from.
type Object struct {
	Source string
	Object map[string]any
}

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o.Object["kind"].(string); return s }

// APIVersion is the object's apiVersion.
func (o Object) APIVersion() string { s, _ := o.Object["apiVersion"].(string); return s }

// Name is metadata.name.
func (o Object) Name() string { s, _ := o.Metadata()["name"].(string); return s }

// BaseName is metadata.name without the release's namePrefix: the name the
// chart gives the object (backend for a-backend of release a-rhesis).
func (o Object) BaseName() string {
	prefix := strings.TrimSuffix(o.Label("app.kubernetes.io/instance"), ReleaseName)
	return strings.TrimPrefix(o.Name(), prefix)
}

// Metadata is the object's metadata.
func (o Object) Metadata() map[string]any { m, _ := o.Object["metadata"].(map[string]any); return m }

// Annotation is one metadata annotation ("" when unset).
func (o Object) Annotation(key string) string {
	a, _ := o.Metadata()["annotations"].(map[string]any)
	s, _ := a[key].(string)
	return s
}

// Label is one metadata label ("" when unset).
func (o Object) Label(key string) string {
	l, _ := o.Metadata()["labels"].(map[string]any)
	s, _ := l[key].(string)
	return s
}

// Rendered is one render of the chart.
type Rendered struct {
	Objects []Object
	Notes   string
}

// RenderOptions say who renders: Service is .Release.Service, "Helm" as
// `helm install` sets it, or the program's name in raw mode (the chart then
// leaves out Helm's own bookkeeping label).
type RenderOptions struct {
	// SkipSchemaValidation renders values the caller has checked against
	// the schema itself (to report each problem as its own).
	SkipSchemaValidation bool
	Namespace            string
	Service              string
	// APIVersions are API group versions the cluster serves beyond
	// Kubernetes' own (keda.sh/v1alpha1), as `helm template --api-versions`.
	APIVersions []string
	// Release is the release's name, as `helm install <release>` gives it;
	// empty means the program's, ReleaseFor the values' namePrefix.
	Release string
	// Upgrade renders as `helm upgrade` does (.Release.IsUpgrade), with
	// Cluster answering the templates' lookups; nil finds nothing, as
	// `helm template` does.
	Upgrade bool
	Cluster engine.ClientProvider
}

// Render renders the chart in dir as `helm install rhesis <dir> -n <namespace>`
// does: values coalesced with values.yaml, checked against
// values.schema.json, rendered by Helm's engine, manifests in Helm's install
// order. A `fail` in a template is returned as the error.
func Render(dir string, values map[string]any, opts RenderOptions) (*Rendered, error) {
	c, err := Load(dir)
	if err != nil {
		return nil, err
	}
	return RenderChart(c, values, opts)
}

// Load loads the chart in dir with Helm's loader, once for every render
// and merge of one run.
func Load(dir string) (*chart.Chart, error) {
	c, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart %s: %w", dir, err)
	}
	return c, nil
}

// RenderChart is Render of a chart already loaded; it does not change c.
func RenderChart(c *chart.Chart, values map[string]any, opts RenderOptions) (*Rendered, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	caps.APIVersions = append(caps.APIVersions, opts.APIVersions...)
	release := opts.Release
	if release == "" {
		release = ReleaseFor(prefixOf(values))
	}
	revision := 1
	if opts.Upgrade {
		revision = 2
	}
	vals, err := chartutil.ToRenderValuesWithSchemaValidation(c, values, chartutil.ReleaseOptions{
		Name: release, Namespace: opts.Namespace, IsInstall: !opts.Upgrade, IsUpgrade: opts.Upgrade, Revision: revision,
	}, caps, opts.SkipSchemaValidation)
	if err != nil {
		return nil, err
	}
	if opts.Service != "" {
		vals["Release"].(map[string]any)["Service"] = opts.Service
	}
	var files map[string]string
	if opts.Cluster != nil {
		files, err = engine.RenderWithClientProvider(c, vals, opts.Cluster)
	} else {
		files, err = engine.Render(c, vals)
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := &Rendered{}
	for _, name := range names {
		body := files[name]
		if strings.HasSuffix(name, "NOTES.txt") {
			out.Notes = body
			continue
		}
		objs, err := ParseManifest(name, body)
		if err != nil {
			return nil, err
		}
		out.Objects = append(out.Objects, objs...)
	}
	return out, nil
}

// ParseManifest splits a multi-document manifest (one template's output, or
// a release's whole manifest as Helm stores it) into its objects, in order.
func ParseManifest(source, manifest string) ([]Object, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []Object
	for _, k := range keys {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &obj); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", source, err, docs[k])
		}
		if obj != nil {
			out = append(out, Object{Source: source, Object: obj})
		}
	}
	return out, nil
}

// Field is the value at a path of keys and indexes below the object.
func (o Object) Field(path ...any) any { return Dig(o.Object, path...) }

// Dig walks a JSON-like value (maps and slices as encoding/json decodes
// them) by keys and indexes; a missing step gives nil.
func Dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// prefixOf is the values' namePrefix ("" when unset or not a string: the
// schema check reports that).
func prefixOf(values map[string]any) string {
	p, _ := values["namePrefix"].(string)
	return p
}

// ConfigValue is the value of key in the rendered ConfigMap that holds it:
// what the chart computed (a URL, the app environment), read rather than
// computed again.
func ConfigValue(objects []Object, key string) string {
	for _, o := range objects {
		if o.Kind() != "ConfigMap" {
			continue
		}
		if v, ok := o.Field("data", key).(string); ok {
			return v
		}
	}
	return ""
}

// Merged are values merged with the chart's defaults, as the templates
// see them.
func Merged(c *chart.Chart, values map[string]any) (map[string]any, error) {
	return chartutil.CoalesceValues(c, values)
}
