// Command sandbox runs a real Kubernetes control plane on 127.0.0.1 with a
// simulated node: etcd, kube-apiserver (Pod Security admission on, as by
// default), kube-controller-manager, kube-scheduler, kwok and a small volume
// provisioner. Containers never run; everything the API server does is real.
//
//	sandbox start   start every process (reusing the state folder) and wait until ready
//	sandbox stop    stop exactly the processes start recorded, by PID
//	sandbox status  show each process and whether the API server is ready
//	sandbox restart NAME   stop one process, keep it down for --down, start it again
//
// The control-plane binaries are looked up on PATH (hack/sandbox.sh sets it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const (
	apiserverPort     = 6443
	etcdClientPort    = 23790
	etcdPeerPort      = 23800
	advertiseAddress  = "192.0.2.10" // non-loopback, need not exist; loopback makes the apiserver log errors forever
	serviceCIDR       = "10.0.0.0/24"
	fakeNodeName      = "sandbox-node"
	storageClassName  = "standard"
	provisionerName   = "rhesis.dev/sandbox-hostpath"
	readyTimeout      = 90 * time.Second
	stopGraceDuration = 30 * time.Second
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: sandbox [--state DIR] [--down D] start|stop|status|restart NAME

  start    start etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
           kwok (one simulated node) and a volume provisioner on 127.0.0.1, then
           wait until the API server is ready; writes DIR/kubeconfig
  stop     stop the processes start recorded in DIR/pids, by PID
  status   list the recorded processes and check the API server
  restart NAME
           stop the process NAME (kube-apiserver, etcd, ...), keep it down for
           --down, start it again and, for the API server, wait until ready

Flags:
`)
	flag.PrintDefaults()
}

func main() {
	state := flag.String("state", ".sandbox", "folder for certificates, etcd data, logs, PIDs and the kubeconfig")
	down := flag.Duration("down", 0, "restart: how long the process stays stopped")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() != 1 && (flag.Arg(0) != "restart" || flag.NArg() != 2) {
		usage()
		os.Exit(2)
	}
	dir, err := filepath.Abs(*state)
	if err != nil {
		fail(err)
	}
	s := &sandbox{dir: dir}
	ctx := context.Background()
	switch flag.Arg(0) {
	case "start":
		err = s.start(ctx)
	case "stop":
		err = s.stop()
	case "status":
		err = s.status(ctx)
	case "restart":
		err = s.restart(ctx, flag.Arg(1), *down)
	case "provision": // internal: the volume provisioner process start launches
		err = provision(ctx, s.kubeconfig())
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	var exit exitError
	if errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "sandbox:", exit.msg)
		os.Exit(exit.code)
	}
	fmt.Fprintln(os.Stderr, "sandbox:", err)
	os.Exit(1)
}

type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
