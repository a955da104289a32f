package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPullRequestCommentPerStack: hack/pr-comment.sh keeps one comment per
// stack and edits it in place, so the staging and prod previews of a pull
// request never overwrite each other.
func TestPullRequestCommentPerStack(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	comments := t.TempDir()
	post := func(stack, text string) string {
		file := filepath.Join(t.TempDir(), "summary.md")
		require.NoError(t, os.WriteFile(file, []byte(text+"\n"), 0o644))
		cmd := exec.Command(filepath.Join(root, "hack", "pr-comment.sh"), stack, "7", file)
		cmd.Env = append(os.Environ(), "FAKE_GH_DIR="+comments,
			"PATH="+filepath.Join(root, "tests", "testdata", "fakegh")+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	read := func(id string) string {
		b, err := os.ReadFile(filepath.Join(comments, id))
		require.NoError(t, err)
		return string(b)
	}

	assert.Contains(t, post("staging", "staging: 3 to update"), "added the staging comment")
	assert.Contains(t, post("prod", "prod: 1 to update"), "added the prod comment")
	assert.Contains(t, post("staging", "staging: nothing to do"), "updated the staging comment (1)")

	entries, err := os.ReadDir(comments)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "one comment per stack")
	assert.Equal(t, "<!-- rhesis-preview-staging -->\nstaging: nothing to do\n", read("1"))
	assert.Equal(t, "<!-- rhesis-preview-prod -->\nprod: 1 to update\n", read("2"))
}
