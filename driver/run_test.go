package driver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An update's log as the CLI writes it (--event-log): one event per line.
const updateLog = `{"sequence":0,"timestamp":1,"preludeEvent":{"config":{}}}
{"sequence":1,"timestamp":1,"resOutputsEvent":{"metadata":{"op":"create","urn":"urn:pulumi:dev::rhesis::kubernetes:core/v1:Namespace::rhesis","type":"kubernetes:core/v1:Namespace","new":{"type":"kubernetes:core/v1:Namespace","urn":"u","outputs":{"kind":"Namespace"}},"provider":""}}}
{"sequence":2,"timestamp":2,"resOutputsEvent":{"metadata":{"op":"create","urn":"urn:pulumi:dev::rhesis::pulumi:pulumi:Stack::rhesis-dev","type":"pulumi:pulumi:Stack","new":{"type":"pulumi:pulumi:Stack","urn":"u","outputs":{"namespace":"rhesis","urls":{"backend":"http://backend:8080"},"token":"[secret]"}},"provider":""}}}

{"sequence":3,"timestamp":2,"summaryEvent":{"maybeCorrupt":false,"durationSeconds":2,"resourceChanges":{"create":40,"same":1},"PolicyPacks":{}}}
`

func writeLog(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestUpResultIsReadFromTheEventLog(t *testing.T) {
	evts, err := readEvents(writeLog(t, updateLog))
	require.NoError(t, err)
	require.Len(t, evts, 4)
	res, err := upResult(evts)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"create": 40, "same": 1}, res.Changes)
	assert.Equal(t, auto.OutputMap{
		"namespace": {Value: "rhesis"},
		"urls":      {Value: map[string]any{"backend": "http://backend:8080"}},
		"token":     {Value: "[secret]", Secret: true},
	}, res.Outputs, "the stack's outputs, not another resource's")
}

func TestAnUpdateWithoutSummaryIsAnError(t *testing.T) {
	evts, err := readEvents(writeLog(t, `{"sequence":0,"timestamp":1,"preludeEvent":{"config":{}}}`+"\n"))
	require.NoError(t, err)
	_, err = upResult(evts)
	assert.ErrorContains(t, err, "no summary of the update")

	_, err = readEvents(writeLog(t, "{not json\n"))
	assert.ErrorContains(t, err, "reading the engine's event log")

	evts, err = readEvents(filepath.Join(t.TempDir(), "absent.jsonl"))
	require.NoError(t, err, "a command that failed before the engine started leaves no log")
	assert.Empty(t, evts)
}
