// Package testutil holds what the mock tests, the end-to-end tests and the
// benchmark share.
package testutil

import "github.com/rhesis-ai/rhesis-deploy/charts"

// Dig walks a JSON-like value by keys and indexes; a missing step gives nil.
var Dig = charts.Dig
