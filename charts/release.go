// Package charts holds the project's Helm chart and the Rhesis release it
// deploys: the chart's appVersion is the one place that release is named.
package charts

import (
	_ "embed"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed rhesis/Chart.yaml
var chartYAML []byte

// PrepareDatabase is the script backend and worker run before they start:
// it sets up the application's database role and waits until the database
// is at the migrations the image carries.
//
//go:embed rhesis/files/prepare-database.sh
var PrepareDatabase string

// RhesisRelease is the Rhesis release the chart deploys (its appVersion), in
// the form its images are published under: 0.13.0, no leading v.
var RhesisRelease = mustAppVersion()

// LocalVersion is the version of the chart in this repository.
var LocalVersion = chartMetadata().Version

type metadata struct {
	AppVersion string `json:"appVersion"`
	Version    string `json:"version"`
}

func chartMetadata() metadata {
	var c metadata
	if err := yaml.Unmarshal(chartYAML, &c); err != nil {
		panic(fmt.Sprintf("charts/rhesis/Chart.yaml: %v", err))
	}
	return c
}

func mustAppVersion() string {
	c := chartMetadata()
	if c.AppVersion == "" || strings.HasPrefix(c.AppVersion, "v") {
		panic(fmt.Sprintf("charts/rhesis/Chart.yaml: appVersion %q must be a published Rhesis release such as 0.13.0", c.AppVersion))
	}
	return c.AppVersion
}
