package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// ChangelogFile is the chart's changelog, inside the chart so the package
// carries it. It is left out of the digest: it records the digest.
const ChangelogFile = "CHANGELOG.md"

// Digest is a digest of the files `helm package` would put in the chart
// (Helm's own loader, so .helmignore applies), but the changelog. Every
// change to the chart changes it: the Pulumi program passes it as a value so
// a changed template upgrades the release, and the changelog records it per
// chart version, so a change without a version bump is caught.
func Digest(dir string) (string, error) {
	c, err := loader.LoadDir(dir)
	if err != nil {
		return "", fmt.Errorf("loading the chart %s: %w", dir, err)
	}
	files := c.Raw
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	h := sha256.New()
	for _, f := range files {
		if f.Name == ChangelogFile {
			continue
		}
		h.Write([]byte(f.Name + "\x00"))
		h.Write(f.Data)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Release is one entry of the changelog: a chart version and the digest of
// the chart it was released with.
type Release struct {
	Version string
	Digest  string
}

// releaseHeading is a changelog entry's heading: "## 0.4.0 (digest 1a2b...)".
var releaseHeading = regexp.MustCompile(`(?m)^## (\S+) \(digest ([0-9a-f]{16})\)`)

// Changelog lists the releases the chart's changelog records, newest first.
func Changelog(dir string) ([]Release, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ChangelogFile))
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, m := range releaseHeading.FindAllStringSubmatch(string(raw), -1) {
		out = append(out, Release{Version: m[1], Digest: m[2]})
	}
	return out, nil
}
