package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

func TestEnvGivesTheLocalStackItsPassphrase(t *testing.T) {
	t.Setenv("PULUMI_HOME", t.TempDir()) // logged in nowhere
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("PULUMI_BACKEND_URL", "")
	dir := t.TempDir()
	env, err := Options{Stack: "local", ProjectDir: dir}.Env()
	require.NoError(t, err)
	assert.Equal(t, LocalPassphrase, env["PULUMI_CONFIG_PASSPHRASE"])
	assert.Equal(t, "file://"+filepath.Join(dir, ".pulumi-state"), env["PULUMI_BACKEND_URL"])
	assert.DirExists(t, filepath.Join(dir, ".pulumi-state"))
	assert.Equal(t, "true", env["PULUMI_SKIP_UPDATE_CHECK"])
	assert.Equal(t, "64", env["PULUMI_PARALLEL"])

	// An operator's own parallelism is kept.
	t.Setenv("PULUMI_PARALLEL", "4")
	env, err = Options{Stack: "local", ProjectDir: dir}.Env()
	require.NoError(t, err)
	assert.NotContains(t, env, "PULUMI_PARALLEL")
}

func TestEnvRefusesOtherStacksWithoutPassphrase(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	dir := t.TempDir()
	_, err := Options{Stack: "prod", ProjectDir: dir, Backend: "file:///tmp/x"}.Env()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `stack "prod" keeps its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE`)

	// A stack created with a cloud secrets provider needs none.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.prod.yaml"),
		[]byte("secretsprovider: awskms://alias/rhesis\nconfig: {}\n"), 0o644))
	env, err := Options{Stack: "prod", ProjectDir: dir, Backend: "file:///tmp/x"}.Env()
	require.NoError(t, err)
	assert.Empty(t, env["PULUMI_CONFIG_PASSPHRASE"])
	assert.Equal(t, "file:///tmp/x", env["PULUMI_BACKEND_URL"])

	// A passphrase from the environment is used as it is, never replaced.
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "operator's")
	env, err = Options{Stack: "local", ProjectDir: dir, Backend: "file:///tmp/x"}.Env()
	require.NoError(t, err)
	assert.NotContains(t, env, "PULUMI_CONFIG_PASSPHRASE")
}

func TestCopyProjectCopiesWhatTheProgramNeeds(t *testing.T) {
	dst := t.TempDir()
	require.NoError(t, CopyProject(filepath.Join("..", "."), dst))
	assert.FileExists(t, filepath.Join(dst, "Pulumi.yaml"))
	assert.FileExists(t, filepath.Join(dst, "charts", "rhesis", "Chart.yaml"))
	assert.FileExists(t, filepath.Join(dst, "charts", "rhesis", "templates", "_helpers.tpl"))
	assert.NoFileExists(t, filepath.Join(dst, "Pulumi.local.yaml"), "stack files stay behind")
}

// TestDockerProviderVersionMatchesTheSDK: the plugin the driver installs is
// the one the docker SDK in go.mod speaks to.
func TestDockerProviderVersionMatchesTheSDK(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "go.mod"))
	require.NoError(t, err)
	mod, err := modfile.Parse("go.mod", raw, nil)
	require.NoError(t, err)
	found := false
	for _, r := range mod.Require {
		if r.Mod.Path == "github.com/pulumi/pulumi-docker/sdk/v4" {
			found = true
			assert.Equal(t, "v"+DockerProviderVersion, r.Mod.Version)
		}
	}
	assert.True(t, found, "go.mod does not require the docker SDK")
}

// TestToolVersionsAreGoMods: the CLI and providers the driver installs are
// the versions of the SDKs go.mod pins.
func TestToolVersionsAreGoMods(t *testing.T) {
	raw, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	goMod, err := modfile.Parse("go.mod", raw, nil)
	require.NoError(t, err)
	pinned := map[string]string{}
	for _, r := range goMod.Require {
		pinned[r.Mod.Path] = r.Mod.Version
	}
	for module, version := range map[string]string{
		"github.com/pulumi/pulumi/sdk/v3":            PulumiVersion,
		"github.com/pulumi/pulumi-kubernetes/sdk/v4": ProviderVersion,
		"github.com/pulumi/pulumi-docker/sdk/v4":     DockerProviderVersion,
	} {
		assert.Equal(t, pinned[module], "v"+version, module)
	}
}

// TestStateBackendIsTheCLIs: the state lives where `pulumi up` would look
// for it: --backend, PULUMI_BACKEND_URL, Pulumi.yaml, the login, and only
// then the project's own file backend.
func TestStateBackendIsTheCLIs(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	t.Setenv("PULUMI_HOME", home)
	t.Setenv("PULUMI_BACKEND_URL", "")
	o := Options{Stack: "local", ProjectDir: dir}
	check := func(wantURL, wantSource string) {
		t.Helper()
		url, source, err := o.StateBackend()
		require.NoError(t, err)
		assert.Equal(t, wantURL, url)
		assert.Equal(t, wantSource, source)
	}
	check("file://"+filepath.Join(dir, StateDir), "not logged in: the project's file backend")

	require.NoError(t, os.WriteFile(filepath.Join(home, "credentials.json"),
		[]byte(`{"current": "s3://team-state", "accounts": {"s3://team-state": {}}}`), 0o600))
	check("s3://team-state", "pulumi login")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"),
		[]byte("name: rhesis\nruntime: go\nbackend:\n  url: gs://project-state\n"), 0o644))
	check("gs://project-state", "Pulumi.yaml backend.url")

	t.Setenv("PULUMI_BACKEND_URL", "file:///srv/state")
	check("file:///srv/state", "PULUMI_BACKEND_URL")

	o.Backend = "file:///flag"
	check("file:///flag", "--backend")
}

// TestLockStaleness: a lock of this host whose process is gone, or is a
// zombie waiting to be reaped, is stale; a live one and one from another
// host are not.
func TestLockStaleness(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	assert.False(t, Lock{Host: host, PID: os.Getpid()}.Stale(), "this process is alive")
	assert.False(t, Lock{Host: "elsewhere", PID: 1 << 22}.Stale(), "another host's lock")

	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	assert.True(t, Lock{Host: host, PID: gone.Process.Pid}.Stale(), "an ended process")

	zombie := exec.Command("true")
	require.NoError(t, zombie.Start())
	require.Eventually(t, func() bool {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zombie.Process.Pid))
		return strings.Contains(string(stat), ") Z ")
	}, 5*time.Second, 10*time.Millisecond)
	assert.True(t, Lock{Host: host, PID: zombie.Process.Pid}.Stale(), "an exited process not yet reaped")
	require.NoError(t, zombie.Wait())

	locks := LocksIn(errors.New("error: the stack is currently locked by 1 lock(s).\n" +
		"  file:///s/.pulumi/locks/organization/rhesis/local/1.json: created by ci@" + host + " (pid 42) at 2026-12-01T17:47:22Z\n" +
		"stderr: ...: created by ci@" + host + " (pid 42) at 2026-12-01T17:47:22Z"))
	assert.Equal(t, []Lock{{User: "ci", Host: host, PID: 42, Since: "2026-12-01T17:47:22Z"}}, locks)
}

func TestEnsureProviderLooksWhereTheCLIKeepsPlugins(t *testing.T) {
	home := t.TempDir()
	t.Setenv("PULUMI_HOME", home)
	o := Options{ProjectDir: t.TempDir(), ToolCache: t.TempDir()}
	// No plugin and no built provider: the error says how to build it (and
	// no CLI is asked, the nil command would panic).
	err := o.ensureProvider(context.Background(), nil, nil)
	require.ErrorContains(t, err, "run hack/toolchain.sh provider")

	require.NoError(t, os.MkdirAll(filepath.Join(home, "plugins", "resource-kubernetes-v"+ProviderVersion), 0o755))
	assert.NoError(t, o.ensureProvider(context.Background(), nil, nil), "an installed plugin needs nothing")
}
