package config

import (
	"path/filepath"
	"strings"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// The Dockerfiles of a Rhesis checkout the images are built from.
const (
	BackendDockerfile  = "apps/backend/Dockerfile"
	FrontendDockerfile = "apps/frontend/Dockerfile"
)

// The application images, by the name the chart's values give them.
const (
	FrontendName = "frontend"
	BackendName  = "backend"
	WorkerName   = "worker"
	MigrateName  = "migrate"
)

// ImageBuild is one image to build from the checkout.
type ImageBuild struct {
	Name       string // frontend, backend, worker or migrate
	Ref        string // repository:tag, what the pods use
	Context    string // absolute path of the checkout
	Dockerfile string // absolute path
	Target     string // stage of the multi-stage Dockerfile, or ""
	Args       map[string]string
	Platform   string
	Push       bool
}

// Buildable is each image the program can build: its values key, the
// workload that runs it (after namePrefix), its Dockerfile and target.
var Buildable = []struct {
	Image, ValuesKey, Workload, Dockerfile, Target string
}{
	{BackendName, "backend", "Deployment/backend", BackendDockerfile, "backend"},
	{WorkerName, "worker", "Deployment/worker", BackendDockerfile, "worker"},
	{MigrateName, "migrations", "Job/migrate", BackendDockerfile, "migrate"},
	{FrontendName, "frontend", "Deployment/frontend", FrontendDockerfile, ""},
}

// buildLayer are the values image builds imply, under the stack's own: the
// repository each image is built and pushed under, pulled Always when pushed
// (a tag may be pushed again with new content).
func (s *Stack) buildLayer() map[string]any {
	b := s.Deploy.Images
	if !b.Build {
		return nil
	}
	out := map[string]any{}
	for _, img := range Buildable {
		repo := "rhesis-" + img.Image
		if b.Registry != "" {
			repo = b.Registry + "/" + img.Image
		}
		image := map[string]any{"repository": repo}
		if b.Push {
			image["pullPolicy"] = "Always"
		}
		out[img.ValuesKey] = map[string]any{"image": image}
	}
	return out
}

// ImageBuilds are the builds of a stack, named as the rendered workloads
// run them: the chart decides each image's reference, Go only builds it.
func (s *Stack) ImageBuilds(objects []charts.Object) []ImageBuild {
	b := s.Deploy.Images
	if !b.Build {
		return nil
	}
	var out []ImageBuild
	for _, img := range Buildable {
		ref := WorkloadImage(objects, img.Workload)
		if ref == "" {
			continue // its component is off
		}
		build := ImageBuild{
			Name: img.Image, Ref: ref, Context: b.ContextDir,
			Dockerfile: filepath.Join(b.ContextDir, filepath.FromSlash(img.Dockerfile)),
			Target:     img.Target, Args: map[string]string{}, Platform: b.Platform, Push: b.Push,
		}
		if img.Image == FrontendName {
			// Baked into the bundle: the value the chart gives the pods.
			build.Args["FRONTEND_ENV"] = charts.ConfigValue(objects, "FRONTEND_ENV")
		}
		out = append(out, build)
	}
	return out
}

// WorkloadPullPolicy is the pull policy of the main container of a
// rendered workload (as WorkloadImage finds it).
func WorkloadPullPolicy(objects []charts.Object, workload string) string {
	return workloadField(objects, workload, "imagePullPolicy")
}

// WorkloadImage is the image of the main container of the rendered
// workload kind/base (base is the name before namePrefix; a Job's name
// only starts with it).
func WorkloadImage(objects []charts.Object, workload string) string {
	return workloadField(objects, workload, "image")
}

func workloadField(objects []charts.Object, workload, field string) string {
	kind, base, _ := strings.Cut(workload, "/")
	for _, o := range objects {
		if o.Kind() != kind {
			continue
		}
		if name := o.BaseName(); name == base || (kind == "Job" && strings.HasPrefix(name, base+"-")) {
			v, _ := o.Field("spec", "template", "spec", "containers", 0, field).(string)
			return v
		}
	}
	return ""
}
