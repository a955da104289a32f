package testutil

import (
	"errors"
	"os/exec"
)

// Stderr is what a command that exited with an error wrote to its standard
// error (exec.Cmd.Output keeps it); empty for other errors.
func Stderr(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}
