package tests

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// fakeCheckout is a folder laid out like the Rhesis monorepo, holding the
// given Dockerfiles (paths relative to its root).
func fakeCheckout(t *testing.T, dockerfiles ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range dockerfiles {
		path := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte("FROM scratch AS backend\n"), 0o644))
	}
	return dir
}

// rhesisCheckout is a fake checkout with both Dockerfiles.
func rhesisCheckout(t *testing.T) string {
	return fakeCheckout(t, config.BackendDockerfile, config.FrontendDockerfile)
}

// buildSettings is a stack building its images from checkout; staging and
// prod push to ghcr.io/acme with credentials, as an operator sets them up.
func buildSettings(t *testing.T, stackName, checkout string) settings {
	s := stackSettings(t, stackName)
	s.set("deploy.images.build", "true")
	s.set("deploy.images.context", checkout)
	if stackName != "local" {
		s.set("deploy.images.registry", "ghcr.io/acme")
		s.set("global.imageCredentials.registry", "ghcr.io")
		s.set("global.imageCredentials.username", "acme-ci")
		s.setSecret("secrets.registryPassword", "ghp_test_token")
	}
	return s
}

// builtImages are the docker.Image resources of a run, by resource name.
func builtImages(r *result) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, res := range r.Resources {
		if res.Type == dockerImageType {
			out[res.Name] = res.Plain()
		}
	}
	return out
}

type wantBuild struct {
	ref, dockerfile, target string
	args                    map[string]any
}

// TestImagePlanPerStack: with images.build, each stack builds exactly the
// four images from the checkout root, with the right Dockerfile, target and
// build args, pushes them in staging and prod only, and logs in for pushes.
func TestImagePlanPerStack(t *testing.T) {
	t.Parallel()
	checkout := rhesisCheckout(t)
	backendDockerfile := filepath.Join(checkout, "apps", "backend", "Dockerfile")
	frontendDockerfile := filepath.Join(checkout, "apps", "frontend", "Dockerfile")
	plans := map[string]map[string]wantBuild{
		"local": {
			"backend-image":  {"rhesis-backend:" + release, backendDockerfile, "backend", map[string]any{}},
			"worker-image":   {"rhesis-worker:" + release, backendDockerfile, "worker", map[string]any{}},
			"migrate-image":  {"rhesis-migrate:" + release, backendDockerfile, "migrate", map[string]any{}},
			"frontend-image": {"rhesis-frontend:" + release, frontendDockerfile, "", map[string]any{"FRONTEND_ENV": "local"}},
		},
		"staging": {
			"backend-image":  {"ghcr.io/acme/backend:" + release, backendDockerfile, "backend", map[string]any{}},
			"worker-image":   {"ghcr.io/acme/worker:" + release, backendDockerfile, "worker", map[string]any{}},
			"migrate-image":  {"ghcr.io/acme/migrate:" + release, backendDockerfile, "migrate", map[string]any{}},
			"frontend-image": {"ghcr.io/acme/frontend:" + release, frontendDockerfile, "", map[string]any{"FRONTEND_ENV": "staging"}},
		},
		"prod": {
			"backend-image":  {"ghcr.io/acme/backend:" + release, backendDockerfile, "backend", map[string]any{}},
			"worker-image":   {"ghcr.io/acme/worker:" + release, backendDockerfile, "worker", map[string]any{}},
			"migrate-image":  {"ghcr.io/acme/migrate:" + release, backendDockerfile, "migrate", map[string]any{}},
			"frontend-image": {"ghcr.io/acme/frontend:" + release, frontendDockerfile, "", map[string]any{"FRONTEND_ENV": "production"}},
		},
	}
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			r, err := run(t, s, buildSettings(t, s, checkout))
			require.NoError(t, err)
			got := builtImages(r)
			require.ElementsMatch(t, keysOf(plans[s]), keysOf(got))
			push := s != "local"
			for name, want := range plans[s] {
				img := got[name]
				assert.Equal(t, want.ref, img["imageName"], name)
				assert.Equal(t, checkout, dig(img, "build", "context"), "%s: the context is the checkout root", name)
				assert.Equal(t, want.dockerfile, dig(img, "build", "dockerfile"), name)
				target, _ := dig(img, "build", "target").(string)
				assert.Equal(t, want.target, target, name)
				assert.Equal(t, want.args, dig(img, "build", "args"), name)
				assert.Equal(t, "linux/amd64", dig(img, "build", "platform"), name)
				assert.Equal(t, !push, img["skipPush"], name)
				if push {
					assert.Equal(t, "ghcr.io", dig(img, "registry", "server"), name)
					assert.Equal(t, "acme-ci", dig(img, "registry", "username"), name)
					assert.Equal(t, "ghcr.io/acme/"+name[:len(name)-len("-image")]+":"+release, img["imageName"])
				} else {
					assert.Nil(t, img["registry"], "%s: a local build logs in nowhere", name)
				}
			}
			// The push password stays a Pulumi secret.
			for _, res := range r.Resources {
				if res.Type == dockerImageType && push {
					assert.True(t, res.Inputs["registry"].ObjectValue()["password"].ContainsSecrets(), res.Name)
				}
			}
		})
	}
}

// TestDeploymentsRunTheBuiltImages: every Deployment names exactly the
// reference that was built (known at preview), carries the build's digest
// as an annotation (so a rebuild under the same tag rolls it), and pulls a
// pushed tag again (Always) while a local build is used where it is
// (IfNotPresent, never Never).
func TestDeploymentsRunTheBuiltImages(t *testing.T) {
	t.Parallel()
	checkout := rhesisCheckout(t)
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			r, err := run(t, s, buildSettings(t, s, checkout))
			require.NoError(t, err)
			imgs := builtImages(r)
			policy := map[string]string{"local": "IfNotPresent", "staging": "Always", "prod": "Always"}[s]
			for _, app := range []string{"frontend", "backend", "worker"} {
				d := r.object(t, "Deployment", app).Plain()
				c := container(r.object(t, "Deployment", app))
				assert.Equal(t, imgs[app+"-image"]["imageName"], c["image"], app)
				assert.Equal(t, policy, c["imagePullPolicy"], app)
				assert.Equal(t, mockDigest(app+"-image"),
					dig(d, "spec", "template", "metadata", "annotations", "rhesis.dev/image-digest"), app)
			}
			for _, store := range []string{"postgres", "redis"} {
				d := r.object(t, "Deployment", store).Plain()
				assert.Nil(t, dig(d, "spec", "template", "metadata", "annotations", "rhesis.dev/image-digest"), store)
				assert.Equal(t, "IfNotPresent", container(r.object(t, "Deployment", store))["imagePullPolicy"], store)
			}
			assert.Equal(t, imgs["migrate-image"]["imageName"], dig(r.Outputs, "images", "migrate", "ref"))
			assert.Equal(t, mockDigest("backend-image"), dig(r.Outputs, "images", "backend", "digest"))
			assert.Equal(t, true, dig(r.Outputs, "images", "backend", "built"))
			assert.Equal(t, s != "local", dig(r.Outputs, "images", "backend", "pushed"))
		})
	}
}

// TestHelmModeGetsTheBuiltImages: helm mode builds the same images and hands
// the chart exactly their references and digests.
func TestHelmModeGetsTheBuiltImages(t *testing.T) {
	t.Parallel()
	checkout := rhesisCheckout(t)
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			set := buildSettings(t, s, checkout)
			set.set("deploy.mode", "helm")
			r, err := run(t, s, set)
			require.NoError(t, err)
			imgs := builtImages(r)
			assert.Len(t, imgs, 4)
			values := r.object(t, "Release", "rhesis").Plain()["values"].(map[string]any)
			for _, app := range []string{"frontend", "backend", "worker"} {
				image := dig(values, app, "image").(map[string]any)
				// The release names the repository; the chart the tag, as its workload runs it.
				ref := config.WorkloadImage(r.Config.Rendered.Objects, "Deployment/"+app)
				assert.Equal(t, imgs[app+"-image"]["imageName"], ref, app)
				assert.True(t, strings.HasPrefix(ref, image["repository"].(string)+":"), "%s: %s", app, ref)
				assert.Equal(t, mockDigest(app+"-image"), image["digest"], app)
			}
		})
	}
}

// TestPrebuiltImagesNeedNoDocker: without images.build nothing is built and
// the pods run the published images under the configured tag.
func TestPrebuiltImagesNeedNoDocker(t *testing.T) {
	t.Parallel()
	// Every environment runs the published images of the pinned release.
	want := "ghcr.io/rhesis-ai/%s:" + charts.RhesisRelease
	for _, s := range stacks {
		r := mustRun(t, s)
		assert.Empty(t, builtImages(r), s)
		for _, app := range []string{"frontend", "backend", "worker"} {
			d := r.object(t, "Deployment", app)
			assert.Equal(t, fmt.Sprintf(want, app), container(d)["image"], "%s %s", s, app)
			assert.Nil(t, dig(d.Plain(), "spec", "template", "metadata", "annotations", "rhesis.dev/image-digest"))
			assert.Equal(t, false, dig(r.Outputs, "images", app, "built"))
		}
		// No migrate image is published: the Job runs the backend's.
		assert.Equal(t, fmt.Sprintf(want, "backend"), dig(r.Outputs, "images", "migrate", "ref"), s)
	}

	// A private mirror: each image's repository names it, its tag wins.
	set := stackSettings(t, "prod")
	set.set("backend.image.repository", "registry.example.com:5000/mirror/backend")
	set.set("worker.image.repository", "registry.example.com:5000/other/rhesis-worker")
	set.set("worker.image.tag", "v1.4.1")
	r, err := run(t, "prod", set)
	require.NoError(t, err)
	assert.Equal(t, "registry.example.com:5000/mirror/backend:"+release, container(r.object(t, "Deployment", "backend"))["image"])
	assert.Equal(t, "registry.example.com:5000/other/rhesis-worker:v1.4.1", container(r.object(t, "Deployment", "worker"))["image"])
	assert.Equal(t, "IfNotPresent", container(r.object(t, "Deployment", "worker"))["imagePullPolicy"])
}

// TestOnlyEnabledComponentsAreBuilt: a disabled worker is not built; without
// the backend there is neither a backend nor a migrate image.
func TestOnlyEnabledComponentsAreBuilt(t *testing.T) {
	t.Parallel()
	checkout := rhesisCheckout(t)
	s := buildSettings(t, "local", checkout)
	s.set("worker.enabled", "false")
	r, err := run(t, "local", s)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"backend-image", "migrate-image", "frontend-image"}, keysOf(builtImages(r)))

	// The frontend alone needs only its own Dockerfile.
	s = buildSettings(t, "local", fakeCheckout(t, config.FrontendDockerfile))
	for _, c := range []string{"backend", "worker", "database", "redis"} {
		s.set(c+".enabled", "false")
	}
	r, err = run(t, "local", s)
	require.NoError(t, err)
	assert.Equal(t, []string{"frontend-image"}, keysOf(builtImages(r)))
}

// TestRelativeCheckoutPath: images.context is relative to the project folder.
func TestRelativeCheckoutPath(t *testing.T) {
	t.Parallel()
	checkout := rhesisCheckout(t)
	rel, err := filepath.Rel(repoRoot(t), checkout)
	require.NoError(t, err)
	r, err := run(t, "local", buildSettings(t, "local", rel))
	require.NoError(t, err)
	assert.Equal(t, checkout, dig(builtImages(r)["backend-image"], "build", "context"))
}

// TestRegistryCredentialsMakeAPullSecret: the credentials become the
// dockerconfigjson Secret rhesis-registry (a Pulumi secret) that every pod
// pulls with, next to any pull Secret named in images.pullSecrets.
func TestRegistryCredentialsMakeAPullSecret(t *testing.T) {
	t.Parallel()
	s := buildSettings(t, "prod", rhesisCheckout(t))
	s.set("global.imagePullSecrets", `["mirror-creds", "other"]`)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	secret := r.object(t, "Secret", "rhesis-registry")
	assert.Equal(t, "kubernetes.io/dockerconfigjson", secret.Plain()["type"])
	assert.True(t, secret.Inputs["stringData"].ContainsSecrets(), "the registry password must be a Pulumi secret")
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string }
	}
	require.NoError(t, json.Unmarshal([]byte(dig(secret.Plain(), "stringData", ".dockerconfigjson").(string)), &cfg))
	login := cfg.Auths["ghcr.io"]
	assert.Equal(t, "acme-ci", login.Username)
	assert.Equal(t, "ghp_test_token", login.Password)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("acme-ci:ghp_test_token")), login.Auth)
	for _, name := range workloads {
		refs := dig(r.object(t, "Deployment", name).Plain(), "spec", "template", "spec", "imagePullSecrets")
		assert.Equal(t, []any{
			map[string]any{"name": "rhesis-registry"}, map[string]any{"name": "mirror-creds"}, map[string]any{"name": "other"},
		}, refs, name)
	}

	// Without credentials there is no such Secret and no reference to it.
	r = mustRun(t, "prod")
	assert.False(t, r.hasObject("Secret", "rhesis-registry"))
	assert.Nil(t, dig(r.object(t, "Deployment", "backend").Plain(), "spec", "template", "spec", "imagePullSecrets"))
}

// TestParityWithBuiltImages: built images, their digests and the pull
// Secrets come out of the chart exactly as raw mode creates them.
func TestParityWithBuiltImages(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			set := buildSettings(t, s, rhesisCheckout(t))
			set.set("global.imagePullSecrets", `["mirror-creds"]`)
			r, err := run(t, s, set)
			require.NoError(t, err)
			values := deepCopy(r.Config.Values)
			for _, b := range config.Buildable {
				dig(values, b.ValuesKey, "image").(map[string]any)["digest"] = mockDigest(b.Image + "-image")
			}
			raw := rawObjects(t, r)
			if s != "local" {
				assert.Contains(t, raw, "Secret/rhesis-registry")
			}
			assertSameObjects(t, raw, chartObjects(t, values), s+" with built images")
		})
	}
}

// TestBadImageConfigCreatesNothing: each mistake is named with its fix
// before anything is built or created.
func TestBadImageConfigCreatesNothing(t *testing.T) {
	t.Parallel()
	checkout := rhesisCheckout(t)
	cases := []badConfig{
		{"checkout that does not exist", "local", func(s settings) { s.set("deploy.images.context", "/nonexistent/rhesis") },
			"deploy.images.context", "/nonexistent/rhesis is not a folder"},
		{"build without a checkout", "local", func(s settings) { s.unset("deploy.images.context") },
			"deploy.images.context", "is required when deploy.images.build is true"},
		{"checkout without the frontend Dockerfile", "local", func(s settings) {
			s.set("deploy.images.context", fakeCheckout(t, config.BackendDockerfile))
		}, "deploy.images.context", "has no apps/frontend/Dockerfile (needed for the frontend image)"},
		{"checkout without the backend Dockerfile", "local", func(s settings) {
			s.set("deploy.images.context", fakeCheckout(t, config.FrontendDockerfile))
		}, "deploy.images.context", "has no apps/backend/Dockerfile (needed for the backend image)"},
		{"latest in prod", "prod", func(s settings) { s.set("global.imageTag", "latest") },
			"global.imageTag", "latest is refused in prod"},
		{"latest on one image in staging", "staging", func(s settings) { s.set("worker.image.tag", "latest") },
			"worker.image.tag", "latest is refused in staging"},
		{"latest on a store in prod", "prod", func(s settings) { s.set("redis.image.tag", "latest") },
			"redis.image.tag", "latest is refused in prod"},
		{"push without a registry", "staging", func(s settings) {
			s.unset("deploy.images.registry")
			s.unset("global.imageCredentials.username")
			s.unset("secrets.registryPassword")
			s.set("deploy.images.push", "true")
		}, "deploy.images.push", "needs deploy.images.registry"},
		{"credentials without a password", "prod", func(s settings) { s.unset("secrets.registryPassword") },
			"global.imageCredentials.username", "needs global.imageCredentials.registry and secrets.registryPassword"},
		{"registry password in plain text", "prod", func(s settings) { s.set("secrets.registryPassword", "ghp_plain") },
			"secrets.registryPassword", "is stored in plain text"},
		{"unknown platform", "local", func(s settings) { s.set("deploy.images.platform", "linux/") },
			"deploy.images.platform", "is not a platform"},
		{"tag with a slash", "local", func(s settings) { s.set("global.imageTag", "feature/x") },
			"global.imageTag", "does not have the expected form"},
		{"repository with a tag", "local", func(s settings) { s.set("backend.image.repository", "rhesis-backend:v1") },
			"backend.image.repository", "must be a repository without a tag: the tag goes in backend.image.tag"},
		{"repository in upper case", "local", func(s settings) { s.set("deploy.images.registry", "GHCR.io/Acme") },
			"deploy.images.registry", "is not a registry and namespace"},
		{"pull secret that is no name", "local", func(s settings) { s.set("global.imagePullSecrets", `["Bad_Name"]`) },
			"global.imagePullSecrets[0]", "does not have the expected form"},
	}
	assertEachRefused(t, cases, func(t *testing.T, stack string) settings { return buildSettings(t, stack, checkout) })
}

// TestLatestIsReportedOnce: one images.tag behind four images is one problem.
func TestLatestIsReportedOnce(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("global.imageTag", "latest")
	_, err := runProgram(t, "prod", s)
	var problems config.Problems
	require.ErrorAs(t, err, &problems)
	assert.Equal(t, []string{"rhesis:global.imageTag"}, problems.Keys())
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestChartRefusesLatestAndHalfCredentials: plain `helm install` users get
// the same refusals as `pulumi up`.
func TestChartRefusesLatestAndHalfCredentials(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"latest for every image", map[string]any{"global": map[string]any{"imageTag": "latest"}},
			"global.imageTag=latest is refused in prod"},
		{"latest for one image", map[string]any{"backend": map[string]any{"image": map[string]any{"tag": "latest"}}},
			"backend.image.tag=latest is refused in prod"},
		{"a user without password", map[string]any{"global": map[string]any{"imageCredentials": map[string]any{"registry": "ghcr.io", "username": "ci"}}},
			"global.imageCredentials.username needs global.imageCredentials.registry and secrets.registryPassword"},
		{"a password without user", map[string]any{"secrets": map[string]any{"registryPassword": "x"}},
			"need global.imageCredentials.username"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := render(t, layer(envValues(t, "prod"), c.values))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// A tag of its own needs no global one; the chart names the image exactly.
	v := layer(envValues(t, "prod"), map[string]any{"global": map[string]any{"imageTag": ""}})
	for _, app := range []string{"frontend", "backend", "worker", "migrations"} {
		v = layer(v, map[string]any{app: map[string]any{"image": map[string]any{"tag": "v9"}}})
	}
	for _, m := range mustRender(t, v) {
		if m.Kind() == "Deployment" && (m.Name() == "backend" || m.Name() == "worker" || m.Name() == "frontend") {
			assert.Equal(t, "ghcr.io/rhesis-ai/"+m.Name()+":v9", dig(m.Object, "spec", "template", "spec", "containers", 0, "image"))
		}
	}
}

// TestPreviewOfABuildListsEveryObject: in a preview the digests of the
// images still to be built are unknown (the mock engine drops unknown inputs,
// as a preview shows them as unknown). Both modes still register every object
// with every other field known: the preview shows each object's diff.
func TestPreviewOfABuildListsEveryObject(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			set := buildSettings(t, s, rhesisCheckout(t))
			up, err := run(t, s, set)
			require.NoError(t, err)
			preview, err := runPreview(t, s, set)
			require.NoError(t, err)
			upObjects, previewObjects := rawObjects(t, up), rawObjects(t, preview)
			require.Equal(t, objectKeys(up), objectKeys(preview))
			for k, obj := range upObjects {
				annotations, _ := dig(obj, "spec", "template", "metadata", "annotations").(map[string]any)
				if _, built := annotations[imageDigestAnnotation]; built {
					delete(annotations, imageDigestAnnotation)
					assert.Nil(t, dig(previewObjects[k], "spec", "template", "metadata", "annotations", imageDigestAnnotation),
						"%s: the digest is unknown in a preview", k)
				}
				assert.Empty(t, diffPaths("", obj, previewObjects[k]), "%s: preview and up differ beyond the digest", k)
			}

			set.set("deploy.mode", "helm")
			helmUp, err := run(t, s, set)
			require.NoError(t, err)
			helmPreview, err := runPreview(t, s, set)
			require.NoError(t, err)
			upValues := helmUp.object(t, "Release", "rhesis").Plain()["values"].(map[string]any)
			previewValues := helmPreview.object(t, "Release", "rhesis").Plain()["values"].(map[string]any)
			for _, app := range []string{"frontend", "backend", "worker"} {
				require.NotEmpty(t, dig(upValues, app, "image", "digest"), app)
				delete(dig(upValues, app, "image").(map[string]any), "digest")
			}
			delete(dig(upValues, "migrations", "image").(map[string]any), "digest")
			assert.Empty(t, diffPaths("", upValues, previewValues), "helm mode: preview and up values differ beyond the digests")
			assert.True(t, helmPreview.object(t, "Release", "rhesis").Inputs["values"].ObjectValue()["secrets"].ContainsSecrets())
		})
	}
}

// imageDigestAnnotation carries a built image's digest on a pod template:
// a rebuild under the same tag rolls the pods.
const imageDigestAnnotation = "rhesis.dev/image-digest"

// objectKeys are kind/name of every Kubernetes object a run registered.
func objectKeys(r *result) []string {
	var keys []string
	for _, res := range r.kubernetes() {
		name, _ := res.Meta()
		keys = append(keys, key(res.Kind(), name))
	}
	sort.Strings(keys)
	return keys
}
