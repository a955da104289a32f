package driver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// Lock is one holder of a stack's lock, as the state backend names it in
// the error of a run that found the stack locked.
type Lock struct {
	User, Host string
	PID        int
	Since      string
}

// lockHolder is how a file (or bucket) backend names a lock holder.
var lockHolder = regexp.MustCompile(`created by (\S+)@(\S+) \(pid (\d+)\) at (\S+)`)

// IsLocked tells whether err is a run refused because another run holds the stack.
func IsLocked(err error) bool {
	return err != nil && (auto.IsConcurrentUpdateError(err) || strings.Contains(err.Error(), "the stack is currently locked"))
}

// LocksIn lists the lock holders a refused run's error names.
func LocksIn(err error) []Lock {
	if err == nil {
		return nil
	}
	var out []Lock
	seen := map[string]bool{}
	for _, m := range lockHolder.FindAllStringSubmatch(err.Error(), -1) {
		if seen[m[0]] {
			continue // the CLI's stdout and stderr both carry the message
		}
		seen[m[0]] = true
		pid, _ := strconv.Atoi(m[3])
		out = append(out, Lock{User: m[1], Host: m[2], PID: pid, Since: m[4]})
	}
	return out
}

// Stale tells whether the run that took the lock is gone: it ran on this
// host and its process no longer exists. A lock from another host is never
// judged stale here: only that host knows.
func (l Lock) Stale() bool {
	host, err := os.Hostname()
	if err != nil || host != l.Host || l.PID <= 0 {
		return false
	}
	p, err := os.FindProcess(l.PID)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) || zombie(l.PID)
}

// zombie tells whether the process has exited and waits only to be reaped
// (Linux: state Z in /proc/<pid>/stat). A killed run's CLI lingers so
// until its new parent reaps it.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	fields := strings.Fields(string(rest))
	return len(fields) > 0 && fields[0] == "Z"
}

func (l Lock) String() string {
	return fmt.Sprintf("pid %d of %s@%s since %s", l.PID, l.User, l.Host, l.Since)
}
