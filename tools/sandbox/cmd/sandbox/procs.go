package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type sandbox struct{ dir string }

func (s *sandbox) kubeconfig() string      { return filepath.Join(s.dir, "kubeconfig") }
func (s *sandbox) pki() pki                { return pki{dir: filepath.Join(s.dir, "pki")} }
func (s *sandbox) pidFile(n string) string { return filepath.Join(s.dir, "pids", n+".pid") }
func (s *sandbox) logFile(n string) string { return filepath.Join(s.dir, "logs", n+".log") }

// process is one control-plane process as start launches it.
type process struct {
	name string
	bin  string
	args []string
}

func (s *sandbox) processes(self string) []process {
	p := s.pki()
	kc := func(name string) string { return filepath.Join(s.dir, name+".kubeconfig") }
	return []process{
		{"etcd", "etcd", []string{
			"--name=sandbox", "--data-dir=" + filepath.Join(s.dir, "etcd"),
			fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdClientPort),
			fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdClientPort),
			fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", etcdPeerPort),
			fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", etcdPeerPort),
			fmt.Sprintf("--initial-cluster=sandbox=http://127.0.0.1:%d", etcdPeerPort),
			"--listen-metrics-urls=", "--log-level=warn",
		}},
		{"kube-apiserver", "kube-apiserver", []string{
			fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdClientPort),
			"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiserverPort),
			"--advertise-address=" + advertiseAddress,
			"--service-cluster-ip-range=" + serviceCIDR,
			"--authorization-mode=Node,RBAC",
			"--client-ca-file=" + p.path("ca.crt"),
			"--tls-cert-file=" + p.path("apiserver.crt"), "--tls-private-key-file=" + p.path("apiserver.key"),
			"--kubelet-client-certificate=" + p.path("apiserver-kubelet-client.crt"),
			"--kubelet-client-key=" + p.path("apiserver-kubelet-client.key"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + p.path("sa.pub"),
			"--service-account-signing-key-file=" + p.path("sa.key"),
			"--requestheader-client-ca-file=" + p.path("front-proxy-ca.crt"),
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-username-headers=X-Remote-User",
			"--proxy-client-cert-file=" + p.path("front-proxy-client.crt"),
			"--proxy-client-key-file=" + p.path("front-proxy-client.key"),
			"--enable-priority-and-fairness=false",
		}},
		{"kube-controller-manager", "kube-controller-manager", []string{
			"--kubeconfig=" + kc("controller-manager"),
			"--authentication-kubeconfig=" + kc("controller-manager"),
			"--authorization-kubeconfig=" + kc("controller-manager"),
			"--use-service-account-credentials",
			"--service-account-private-key-file=" + p.path("sa.key"),
			"--root-ca-file=" + p.path("ca.crt"),
			"--cluster-signing-cert-file=" + p.path("ca.crt"), "--cluster-signing-key-file=" + p.path("ca.key"),
			"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10257",
			// kwok renews the node's lease every few seconds (below); the
			// grace leaves room for a loaded machine. The node lifecycle
			// controller marks every pod of a node it thinks lost not ready,
			// and kwok never marks them ready again.
			"--node-monitor-grace-period=2m",
		}},
		{"kube-scheduler", "kube-scheduler", []string{
			"--kubeconfig=" + kc("scheduler"),
			"--authentication-kubeconfig=" + kc("scheduler"),
			"--authorization-kubeconfig=" + kc("scheduler"),
			"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10259",
		}},
		{"kwok", "kwok", []string{
			"--kubeconfig=" + s.kubeconfig(),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--cidr=10.244.0.0/16", "--node-ip=10.244.0.1",
			"--server-address=127.0.0.1:10247",
			// A node lease, renewed every few seconds, is the node's
			// heartbeat. Without one kwok 0.7.0 posts node status only every
			// 10 minutes (its heartbeat-with-lease stage, chosen when the lease
			// duration is 0), and a sandbox older than the grace period would
			// lose its node, and every pod's readiness, for a moment.
			"--node-lease-duration-seconds=40",
		}},
		{"provisioner", self, []string{"--state=" + s.dir, "provision"}},
	}
}

// pidRecord is what a pid file holds: the PID and the binary it runs, so stop
// never signals a process that merely reused the PID.
func (s *sandbox) record(name string, pid int, bin string) error {
	return os.WriteFile(s.pidFile(name), []byte(fmt.Sprintf("%d\n%s\n", pid, bin)), 0o600)
}

func (s *sandbox) recorded(name string) (pid int, bin string, ok bool) {
	raw, err := os.ReadFile(s.pidFile(name))
	if err != nil {
		return 0, "", false
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 {
		return 0, "", false
	}
	pid, err = strconv.Atoi(lines[0])
	return pid, lines[1], err == nil
}

// alive tells whether pid is running bin (not a zombie, not another program).
func alive(pid int, bin string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		if fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(fields) > 0 && fields[0] == "Z" {
			return false
		}
	}
	return strings.TrimSuffix(exe, " (deleted)") == bin
}

func (s *sandbox) launch(p process) error {
	if pid, bin, ok := s.recorded(p.name); ok && alive(pid, bin) {
		return nil // already running
	}
	bin, err := exec.LookPath(p.bin)
	if err != nil {
		return fmt.Errorf("%s: %w (build it with hack/toolchain.sh sandbox)", p.name, err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	logf, err := os.OpenFile(s.logFile(p.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.dir
	// Own process group: the sandbox outlives this command and stop can
	// signal the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	if err := s.record(p.name, cmd.Process.Pid, bin); err != nil {
		return err
	}
	return cmd.Process.Release()
}

func (s *sandbox) start(ctx context.Context) error {
	started := time.Now()
	for _, d := range []string{"pids", "logs", "etcd"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return err
		}
	}
	p := s.pki()
	if err := p.generate(); err != nil {
		return err
	}
	for file, user := range map[string]string{
		s.kubeconfig(): "admin",
		filepath.Join(s.dir, "controller-manager.kubeconfig"): "controller-manager",
		filepath.Join(s.dir, "scheduler.kubeconfig"):          "scheduler",
	} {
		if err := p.kubeconfig(file, user); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	procs := s.processes(self)
	// A control plane started over existing etcd data is a restart.
	_, statErr := os.Stat(filepath.Join(s.dir, "etcd", "member"))
	restarted := statErr == nil && s.runningOwner() == ""
	for _, port := range []int{apiserverPort, etcdClientPort} {
		if owner := s.runningOwner(); owner == "" && portBusy(port) {
			return exitError{3, fmt.Sprintf("127.0.0.1:%d is in use by a process this sandbox did not start; stop it first", port)}
		}
	}
	for i, pr := range procs {
		if err := s.launch(pr); err != nil {
			return err
		}
		if i == 0 {
			if err := waitPort(ctx, etcdClientPort, 20*time.Second); err != nil {
				return fmt.Errorf("etcd did not listen: %w; see %s", err, s.logFile("etcd"))
			}
		}
		if pr.name == "kube-apiserver" {
			if err := s.waitAPI(ctx, readyTimeout); err != nil {
				return fmt.Errorf("kube-apiserver not ready: %w; see %s", err, s.logFile("kube-apiserver"))
			}
			if err := s.bootstrap(ctx, restarted); err != nil {
				return err
			}
		}
	}
	var kwok process
	for _, pr := range procs {
		if pr.name == "kwok" {
			kwok = pr
		}
	}
	if err := s.waitReady(ctx, readyTimeout, kwok); err != nil {
		return err
	}
	fmt.Printf("sandbox ready in %.1fs; KUBECONFIG=%s\n", time.Since(started).Seconds(), s.kubeconfig())
	return nil
}

// runningOwner names a recorded process that is still alive, if any.
func (s *sandbox) runningOwner() string {
	for _, n := range []string{"etcd", "kube-apiserver"} {
		if pid, bin, ok := s.recorded(n); ok && alive(pid, bin) {
			return n
		}
	}
	return ""
}

func portBusy(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func waitPort(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if portBusy(port) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("port %d not open after %s", port, timeout)
}

func (s *sandbox) stop() error {
	names := []string{"provisioner", "kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"}
	var errs []error
	for _, n := range names {
		errs = append(errs, s.stopOne(n))
	}
	return errors.Join(errs...)
}

// stopOne stops the recorded process n, if it runs, and forgets it.
func (s *sandbox) stopOne(n string) error {
	pid, bin, ok := s.recorded(n)
	if !ok {
		return nil
	}
	if alive(pid, bin) {
		// The process leads its own group (Setpgid); signal the group.
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		deadline := time.Now().Add(stopGraceDuration)
		for alive(pid, bin) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(pid, bin) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			time.Sleep(200 * time.Millisecond)
		}
		if alive(pid, bin) {
			return fmt.Errorf("%s (pid %d) did not stop", n, pid)
		}
		fmt.Printf("stopped %s (pid %d)\n", n, pid)
	}
	return os.Remove(s.pidFile(n))
}

// restart stops one process of a running sandbox, keeps it down for down,
// and starts it again as start does; for the API server it waits until it is
// ready. The fault tests restart the API server in the middle of a deploy.
func (s *sandbox) restart(ctx context.Context, name string, down time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, p := range s.processes(self) {
		if p.name != name {
			continue
		}
		if err := s.stopOne(name); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(down):
		}
		if err := s.launch(p); err != nil {
			return err
		}
		if name == "kube-apiserver" {
			if err := s.waitAPI(ctx, readyTimeout); err != nil {
				return fmt.Errorf("kube-apiserver not ready after its restart: %w; see %s", err, s.logFile(name))
			}
		}
		fmt.Printf("restarted %s after %s down\n", name, down)
		return nil
	}
	return exitError{2, fmt.Sprintf("no process %q; restart one of etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, provisioner", name)}
}

func (s *sandbox) status(ctx context.Context) error {
	self, _ := os.Executable()
	down := 0
	for _, p := range s.processes(self) {
		pid, bin, ok := s.recorded(p.name)
		switch {
		case !ok:
			fmt.Printf("%-24s not started\n", p.name)
			down++
		case alive(pid, bin):
			fmt.Printf("%-24s running (pid %d)\n", p.name, pid)
		default:
			fmt.Printf("%-24s dead (pid %d); see %s\n", p.name, pid, s.logFile(p.name))
			down++
		}
	}
	if err := s.waitAPI(ctx, 2*time.Second); err != nil {
		return exitError{1, "API server not ready: " + err.Error()}
	}
	fmt.Printf("API server ready; KUBECONFIG=%s\n", s.kubeconfig())
	if down > 0 {
		return exitError{1, fmt.Sprintf("%d process(es) not running", down)}
	}
	return nil
}
