package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/provenance"
	"helm.sh/helm/v3/pkg/registry"
)

// OCIScheme starts the reference of a chart published to an OCI registry.
const OCIScheme = "oci://"

// Name is the chart's name, which a published chart must carry too.
const Name = "rhesis"

// Pulled is a published chart unpacked for rendering, and who signed it.
type Pulled struct {
	Dir string
	// SignedBy names the key that signed the chart; empty when it was pulled
	// without a keyring.
	SignedBy string
}

// LoadKeyring reads a keyring of public keys as Helm reads `--keyring`
// (binary OpenPGP, what `gpg --export` writes), so that a keyring the
// program accepts is one the provider's `helm install --verify` accepts too.
func LoadKeyring(path string) (int, error) {
	s, err := provenance.NewFromKeyring(path, "")
	if err != nil {
		return 0, err
	}
	if len(s.KeyRing) == 0 {
		return 0, fmt.Errorf("%s holds no key", path)
	}
	return len(s.KeyRing), nil
}

// Pull downloads the chart published as ref (oci://host/path/rhesis) at
// version with Helm's own registry client, which logs in as `helm registry
// login` left it, and unpacks it into dest/<digest of ref>/<version>/rhesis,
// replacing what an earlier pull left there (a tag can move). It returns
// that directory, so that the program renders exactly the chart it
// installs. A chart of another name or version is refused.
//
// With a keyring, the chart's provenance (pushed beside it by `helm push` of
// a chart `helm package --sign` made) is pulled too and verified with Helm's
// own check, as `helm pull --verify` does: an unsigned chart, a signature by
// a key not in the keyring, or an archive whose digest is not the signed one
// is refused before anything is unpacked.
func Pull(ref, version, dest, keyring string) (Pulled, error) {
	if !strings.HasPrefix(ref, OCIScheme) {
		return Pulled{}, fmt.Errorf("%s is no OCI reference: it starts with %s", ref, OCIScheme)
	}
	if _, err := semver.StrictNewVersion(version); err != nil {
		return Pulled{}, fmt.Errorf("version %q of %s is no exact SemVer version: %w", version, ref, err)
	}
	client, err := registry.NewClient(registry.ClientOptCredentialsFile(cli.New().RegistryConfig))
	if err != nil {
		return Pulled{}, fmt.Errorf("helm's registry client: %w", err)
	}
	where := strings.TrimPrefix(ref, OCIScheme)
	pulled, err := client.Pull(where+":"+version, registry.PullOptWithChart(true),
		registry.PullOptWithProv(keyring != ""), registry.PullOptIgnoreMissingProv(true))
	if err != nil {
		return Pulled{}, fmt.Errorf("pulling the chart %s version %s: %w (log in with `helm registry login`, or unset deploy.chart to deploy charts/rhesis)", ref, version, err)
	}
	var signedBy string
	if keyring != "" {
		if signedBy, err = verify(pulled, version, keyring); err != nil {
			return Pulled{}, fmt.Errorf("the chart %s version %s %w", ref, version, err)
		}
	}
	c, err := loader.LoadArchive(bytes.NewReader(pulled.Chart.Data))
	if err != nil {
		return Pulled{}, fmt.Errorf("the chart %s version %s: %w", ref, version, err)
	}
	if c.Metadata.Name != Name || c.Metadata.Version != version {
		return Pulled{}, fmt.Errorf("%s:%s holds the chart %s %s, not %s %s", ref, version, c.Metadata.Name, c.Metadata.Version, Name, version)
	}
	// Named after a digest, so no reference can point the folder elsewhere.
	sum := sha256.Sum256([]byte(ref))
	parent := filepath.Join(dest, hex.EncodeToString(sum[:8]), version)
	if err := os.RemoveAll(parent); err != nil {
		return Pulled{}, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Pulled{}, err
	}
	if err := chartutil.Expand(parent, bytes.NewReader(pulled.Chart.Data)); err != nil {
		return Pulled{}, fmt.Errorf("unpacking the chart %s version %s: %w", ref, version, err)
	}
	return Pulled{Dir: filepath.Join(parent, Name), SignedBy: signedBy}, nil
}

// verify checks a pulled chart against its provenance with keyring, and
// names the key that signed it; the error completes "the chart ... ".
func verify(pulled *registry.PullResult, version, keyring string) (string, error) {
	if pulled.Prov == nil || len(pulled.Prov.Data) == 0 {
		return "", fmt.Errorf("is not signed (the registry holds no provenance beside it), and deploy.chartKeyring requires a signed chart; " +
			"deploy a chart published with `helm package --sign`, or unset deploy.chartKeyring to deploy it unverified")
	}
	tmp, err := os.MkdirTemp("", "chart-verify-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	// Helm verifies files: the archive under the name `helm package` gave
	// it, which the provenance records, and the provenance beside it.
	archive := filepath.Join(tmp, Name+"-"+version+".tgz")
	if err := os.WriteFile(archive, pulled.Chart.Data, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(archive+".prov", pulled.Prov.Data, 0o600); err != nil {
		return "", err
	}
	v, err := downloader.VerifyChart(archive, keyring)
	if err != nil {
		return "", fmt.Errorf("failed verification against the keyring %s: %w; it was not published by a key you trust, or it was changed after signing", keyring, err)
	}
	names := slices.Sorted(maps.Keys(v.SignedBy.Identities))
	return strings.TrimSpace(fmt.Sprintf("%s key %X", strings.Join(names, ", "), v.SignedBy.PrimaryKey.Fingerprint)), nil
}
