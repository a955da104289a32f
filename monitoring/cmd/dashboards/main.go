// Command dashboards writes the chart's Grafana dashboards, built by the
// package dashboards, to charts/rhesis/dashboards; with -check it fails when
// the files there differ from what it would write.
//
//	cd monitoring && go run ./cmd/dashboards [-check]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/rhesis-ai/rhesis-deploy/monitoring/dashboards"
)

func main() {
	dir := flag.String("dir", "../charts/rhesis/dashboards", "where the chart keeps its dashboards")
	check := flag.Bool("check", false, "fail when the files differ from what would be written")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	all, err := dashboards.All()
	if err != nil {
		return err
	}
	existing, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, path := range existing {
		if _, ok := all[filepath.Base(path)]; ok {
			continue
		}
		if check {
			return fmt.Errorf("%s is no dashboard of the package dashboards: run `cd monitoring && go run ./cmd/dashboards`", path)
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if check {
			have, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(have, all[name]) {
				return fmt.Errorf("%s is not what the package dashboards builds: run `cd monitoring && go run ./cmd/dashboards`", path)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, all[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
