package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Where the images come from in a Rhesis checkout (contract/rhesis-<release>.yaml gives the sources):
// every image uses the repository root as its context.
const (
	BackendDockerfile  = "apps/backend/Dockerfile"
	FrontendDockerfile = "apps/frontend/Dockerfile"
)

// Pull policies.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// ImageBuild is one image the program builds from the checkout.
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

// buildable are the images the program can build, in build order, with the
// component that needs each, its Dockerfile and target.
var buildable = []struct{ image, component, dockerfile, target string }{
	{BackendName, BackendName, BackendDockerfile, "backend"},
	{WorkerName, WorkerName, BackendDockerfile, "worker"},
	{MigrateName, BackendName, BackendDockerfile, "migrate"},
	{FrontendName, FrontendName, FrontendDockerfile, ""},
}

func isBuildable(name string) bool {
	for _, b := range buildable {
		if b.image == name {
			return true
		}
	}
	return false
}

// AppImages are the names of the application images the stack runs, in the
// order tables list them: those of enabled components, migrate with the backend.
func (s *Stack) AppImages() []string {
	var names []string
	for _, name := range []string{FrontendName, BackendName, WorkerName, MigrateName} {
		if s.Component(owner(name)).Enabled {
			names = append(names, name)
		}
	}
	return names
}

// owner is the component an image belongs to.
func owner(image string) string {
	for _, b := range buildable {
		if b.image == image {
			return b.component
		}
	}
	return image
}

// AppImage returns the image of frontend, backend, worker or migrate.
func (s *Stack) AppImage(name string) Image {
	if name == MigrateName {
		return s.Images.Migrate
	}
	return s.Component(name).Image
}

// ImageBuilds is the build plan: the images of the enabled components (the
// migration image with the backend), none unless images.build is true.
func (s *Stack) ImageBuilds() []ImageBuild {
	if !s.Images.Build {
		return nil
	}
	var out []ImageBuild
	for _, b := range buildable {
		if !s.Component(b.component).Enabled {
			continue
		}
		build := ImageBuild{
			Name:       b.image,
			Ref:        s.AppImage(b.image).Ref(),
			Context:    s.Images.ContextDir,
			Dockerfile: filepath.Join(s.Images.ContextDir, filepath.FromSlash(b.dockerfile)),
			Target:     b.target,
			Args:       map[string]string{},
			Platform:   s.Images.Platform,
			Push:       s.Images.Push,
		}
		if b.image == FrontendName {
			// The frontend image bakes its environment in at build time.
			build.Args["FRONTEND_ENV"] = s.Environment.AppEnv()
		}
		out = append(out, build)
	}
	return out
}

// images reads the images.* keys.
func (b *binder) images(projectDir string) Images {
	im := Images{
		Build:       b.boolean("images.build"),
		Context:     b.str("images.context"),
		Registry:    strings.TrimSuffix(b.str("images.registry"), "/"),
		Tag:         b.str("images.tag"),
		Push:        b.boolean("images.push"),
		Platform:    b.str("images.platform"),
		Username:    b.str("images.registryUsername"),
		Password:    b.secret("images.registryPassword"),
		PullSecrets: splitList(b.str("images.pullSecrets")),
	}
	if im.Context != "" {
		im.ContextDir = im.Context
		if !filepath.IsAbs(im.ContextDir) {
			im.ContextDir = filepath.Join(projectDir, im.ContextDir)
		}
		im.ContextDir = filepath.Clean(im.ContextDir)
	}
	return im
}

// migrationImage is the image the migration Job runs: the built migrate
// target, a repository named in migrate.image.repository, or else the backend
// image, which carries the same ./migrate.sh (the project publishes no
// migrate image; see the app contract).
func (b *binder) migrationImage(backend Image) Image {
	if b.imgs.Build || b.str(MigrateName+".image.repository") != "" {
		return b.image(MigrateName)
	}
	img := backend
	if tag := b.str(MigrateName + ".image.tag"); tag != "" {
		img.Tag, img.tagKey = tag, MigrateName+".image.tag"
	}
	return img
}

// image reads <name>.image.*: the stores' fixed defaults, or for a buildable
// image a name derived from the images.* keys.
func (b *binder) image(name string) Image {
	im := b.imgs
	img := Image{
		Repository: b.str(name + ".image.repository"),
		Tag:        b.str(name + ".image.tag"),
		tagKey:     name + ".image.tag",
	}
	if name != MigrateName {
		img.PullPolicy = b.str(name + ".image.pullPolicy")
	}
	if isBuildable(name) {
		img.Built = im.Build
		if img.Repository == "" {
			switch {
			case im.Registry != "":
				img.Repository = im.Registry + "/" + name
			case im.Build:
				img.Repository = "rhesis-" + name
			default:
				img.Repository = PrebuiltRegistry + "/" + name
			}
		}
		if img.Tag == "" {
			img.Tag, img.tagKey = im.Tag, "images.tag"
		}
	}
	if img.PullPolicy == "" {
		img.PullPolicy = PullIfNotPresent
		if img.Built && im.Push {
			// A pushed tag may be pushed again with new content; a node must
			// not keep running what it cached.
			img.PullPolicy = PullAlways
		}
	}
	return img
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// validateImages checks the images.* keys and every image reference.
func (s *Stack) validateImages(secrets map[string]secretState) Problems {
	var ps Problems
	add := func(key, value, reason string) {
		ps = append(ps, Problem{Key: Namespace + ":" + key, Value: value, Reason: reason})
	}
	im := s.Images
	if im.Registry != "" {
		if _, err := reference.ParseNormalizedNamed(im.Registry + "/image"); err != nil {
			add("images.registry", im.Registry, "is not a registry and namespace, for example ghcr.io/acme or registry.example.com:5000/team")
		}
	}
	if _, err := platforms.Parse(im.Platform); err != nil {
		add("images.platform", im.Platform, "is not a platform; use os/arch[/variant], for example linux/amd64 or linux/arm64")
	}
	for _, name := range im.PullSecrets {
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			add("images.pullSecrets", name, "is not a Secret name: "+msg)
		}
	}
	ps = append(ps, s.validateCredentials(secrets["images.registryPassword"])...)
	if im.Build {
		ps = append(ps, s.validateCheckout()...)
		if im.Push && im.Registry == "" {
			add("images.push", "true", "needs images.registry, the registry to push to: "+
				"`"+SetCommand(s.StackName, "images.registry", "ghcr.io/<org>", false)+"`; or `"+
				SetCommand(s.StackName, "images.push", "false", false)+"` to keep the images where they are built")
		}
	}

	reported := map[string]bool{}
	check := func(name string, img Image) {
		named, err := reference.ParseNormalizedNamed(img.Repository)
		switch {
		case err != nil:
			add(name+".image.repository", img.Repository, "is not an image repository: "+err.Error())
		case !reference.IsNameOnly(named):
			add(name+".image.repository", img.Repository, "must be a repository without tag or digest; put the tag in "+img.tagKey)
		}
		if reported[img.tagKey] {
			return
		}
		reported[img.tagKey] = true
		switch {
		case img.Tag == "" && s.Environment != Local:
			add(img.tagKey, "", fmt.Sprintf("is required in %s: the release or commit to deploy, for example `%s`",
				s.Environment, SetCommand(s.StackName, img.tagKey, charts.RhesisRelease, false)))
		case img.Tag == "latest" && s.Environment != Local:
			add(img.tagKey, img.Tag, fmt.Sprintf("latest is refused in %s: it names whatever was pushed last, so a deployment "+
				"cannot be repeated or rolled back; set a release or commit: `%s`",
				s.Environment, SetCommand(s.StackName, img.tagKey, charts.RhesisRelease, false)))
		case img.Tag == "":
			add(img.tagKey, "", "must not be empty")
		case err == nil:
			if _, terr := reference.WithTag(named, img.Tag); terr != nil {
				add(img.tagKey, img.Tag, "is not an image tag (letters, digits, _ . -; at most 128 characters)")
			}
		}
	}
	for _, c := range s.Components() {
		if c.Enabled {
			check(c.Name, c.Image)
		}
	}
	if s.Backend.Enabled {
		check(MigrateName, im.Migrate)
	}
	return ps
}

func (s *Stack) validateCredentials(password secretState) Problems {
	var ps Problems
	add := func(key, reason string) { ps = append(ps, Problem{Key: Namespace + ":" + key, Reason: reason}) }
	im := s.Images
	switch {
	case im.Username != "" && im.Password == "":
		add("images.registryPassword", "is required with images.registryUsername: `"+SetCommand(s.StackName, "images.registryPassword", "<token>", true)+"`")
	case im.Username == "" && im.Password != "":
		add("images.registryUsername", "is required with images.registryPassword: the user the token belongs to")
	}
	if im.Password != "" && !password.encrypted {
		add("images.registryPassword", "is stored in plain text; set it again encrypted: `"+SetCommand(s.StackName, "images.registryPassword", "<token>", true)+"`")
	}
	if im.HasCredentials() && im.Registry == "" {
		add("images.registry", "is required with registry credentials: the registry they log in to")
	}
	return ps
}

// validateCheckout checks that the checkout has the Dockerfiles the plan needs.
func (s *Stack) validateCheckout() Problems {
	im := s.Images
	problem := func(value, reason string) Problems {
		return Problems{{Key: Namespace + ":images.context", Value: value, Reason: reason}}
	}
	if im.Context == "" {
		return problem("", "is required when images.build is true: the path of a Rhesis checkout "+
			"(git clone https://github.com/rhesis-ai/rhesis); or set images.build false to use prebuilt images")
	}
	if info, err := os.Stat(im.ContextDir); err != nil || !info.IsDir() {
		return problem(im.Context, fmt.Sprintf("%s is not a folder; clone Rhesis there or point images.context at a checkout", im.ContextDir))
	}
	var ps Problems
	seen := map[string]bool{}
	for _, b := range s.ImageBuilds() {
		if seen[b.Dockerfile] {
			continue
		}
		seen[b.Dockerfile] = true
		if _, err := os.Stat(b.Dockerfile); err != nil {
			rel, _ := filepath.Rel(im.ContextDir, b.Dockerfile)
			ps = append(ps, problem(im.Context, fmt.Sprintf("has no %s (needed for the %s image); is it the root of a Rhesis checkout?",
				filepath.ToSlash(rel), b.Name))...)
		}
	}
	return ps
}
