//go:build tools

// Package tools pins postgres_exporter, the image tag the chart runs beside
// PostgreSQL (monitoring.exporters.postgres.image), to build and scrape it.
package tools

import _ "github.com/prometheus-community/postgres_exporter/cmd/postgres_exporter"
