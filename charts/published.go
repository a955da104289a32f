package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/registry"
)

// OCIScheme starts the reference of a chart published to an OCI registry.
const OCIScheme = "oci://"

// Name is the chart's name, which a published chart must carry too.
const Name = "rhesis"

// Pull downloads the chart published as ref (oci://host/path/rhesis) at
// version with Helm's own registry client, which logs in as `helm registry
// login` left it, and unpacks it into dest/<digest of ref>/<version>/rhesis,
// replacing what an earlier pull left there (a tag can move). It returns
// that directory, so that the program renders exactly the chart it
// installs. A chart of another name or version is refused.
func Pull(ref, version, dest string) (string, error) {
	if !strings.HasPrefix(ref, OCIScheme) {
		return "", fmt.Errorf("%s is no OCI reference: it starts with %s", ref, OCIScheme)
	}
	if _, err := semver.StrictNewVersion(version); err != nil {
		return "", fmt.Errorf("version %q of %s is no exact SemVer version: %w", version, ref, err)
	}
	client, err := registry.NewClient(registry.ClientOptCredentialsFile(cli.New().RegistryConfig))
	if err != nil {
		return "", fmt.Errorf("helm's registry client: %w", err)
	}
	where := strings.TrimPrefix(ref, OCIScheme)
	pulled, err := client.Pull(where+":"+version, registry.PullOptWithChart(true))
	if err != nil {
		return "", fmt.Errorf("pulling the chart %s version %s: %w", ref, version, err)
	}
	c, err := loader.LoadArchive(bytes.NewReader(pulled.Chart.Data))
	if err != nil {
		return "", fmt.Errorf("the chart %s version %s: %w", ref, version, err)
	}
	if c.Metadata.Name != Name || c.Metadata.Version != version {
		return "", fmt.Errorf("%s:%s holds the chart %s %s, not %s %s", ref, version, c.Metadata.Name, c.Metadata.Version, Name, version)
	}
	// Named after a digest, so no reference can point the folder elsewhere.
	sum := sha256.Sum256([]byte(ref))
	parent := filepath.Join(dest, hex.EncodeToString(sum[:8]), version)
	if err := os.RemoveAll(parent); err != nil {
		return "", err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	if err := chartutil.Expand(parent, bytes.NewReader(pulled.Chart.Data)); err != nil {
		return "", fmt.Errorf("unpacking the chart %s version %s: %w", ref, version, err)
	}
	return filepath.Join(parent, Name), nil
}
