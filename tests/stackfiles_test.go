package tests

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/stack"
)

// headerCommand is one `pulumi config set` line of a stack file's header.
var headerCommand = regexp.MustCompile(`^#   pulumi config set (--secret |--plaintext )?-s (\S+) (--path )?(\S+) (.+?)(\s{2,}\(.*)?$`)

// TestStackFileHeadersSayWhatToSet: the commands in the header of
// Pulumi.staging.yaml and Pulumi.prod.yaml are exactly what a fresh stack
// lacks: without them the program reports one problem per command's key, and
// with them (values filled in as an operator would) the config is valid.
func TestStackFileHeadersSayWhatToSet(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"staging", "prod"} {
		t.Run(env, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Pulumi."+env+".yaml"))
			require.NoError(t, err)
			bare := stackSettings(t, env)
			for _, k := range []string{"ingress.host", "ingress.className", "ingress.tlsSecret", "storage.storageClass"} {
				bare.unset(k)
			}
			bare.unset("secrets")
			filled := stackSettings(t, env)
			var keys []string
			for _, line := range strings.Split(string(raw), "\n") {
				m := headerCommand.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				require.Equal(t, env, m[2], line)
				key := m[4]
				require.Equal(t, strings.Contains(key, "."), m[3] != "", "a key inside an object needs --path: %s", line)
				keys = append(keys, config.Namespace+":"+key)
				if m[1] == "--secret " {
					filled.setSecret(key, testSecrets[strings.TrimPrefix(key, "secrets.")])
				} else {
					filled.set(key, exampleValue(key, m[5]))
				}
			}
			require.NotEmpty(t, keys, "no commands in the header")

			_, err = resolve(t, env, bare)
			var problems config.Problems
			require.True(t, errors.As(err, &problems), "a fresh %s stack must be refused: %v", env, err)
			reported := problems.Keys()
			assert.Subset(t, reported, keys)
			assert.Subset(t, keys, reported)

			_, err = resolve(t, env, filled)
			assert.NoError(t, err, "the header's commands must be enough")
		})
	}
}

// exampleValue is what an operator types for a header's <placeholder>.
func exampleValue(key, value string) string {
	if !strings.HasPrefix(value, "<") {
		return value
	}
	return map[string]string{"ingress.tlsSecret": "rhesis-tls", "ingress.className": "nginx", "storage.storageClass": testSharedClass}[key]
}

// resolve reads, checks and renders settings as the program does, without
// registering anything.
func resolve(t *testing.T, stackName string, s settings) (*stack.Resolved, error) {
	t.Helper()
	cfg, err := s.load(stackName)
	if err != nil {
		return nil, err
	}
	return stack.Resolve(cfg, func(string, string) (bool, error) { return true, nil })
}
