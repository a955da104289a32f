//go:build tools

// Package tools pins redis_exporter, the image tag the chart runs beside
// Redis (monitoring.exporters.redis.image), to build and scrape it.
package tools

import _ "github.com/oliver006/redis_exporter"
