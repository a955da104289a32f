// Package inline serves a Go program to the Pulumi CLI as its language
// runtime (`pulumi up --client=<address> --exec-kind=auto.inline`), so the
// driver runs an update as one CLI process. The Automation API's Stack.Up
// serves the program the same way but then runs three more CLI processes for
// the outputs and the history, each of which loads the state and derives the
// passphrase key again; the driver reads both from the update's own event log.
package inline

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Server is a language runtime running one program.
type Server struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	program pulumi.RunFunc
	// Address is what the CLI's --client flag takes.
	Address string
	cancel  chan bool
	done    <-chan error
}

// Serve starts serving program on a free port of 127.0.0.1.
func Serve(program pulumi.RunFunc) (*Server, error) {
	s := &Server{program: program, cancel: make(chan bool)}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: s.cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, s)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		return nil, fmt.Errorf("serving the program to the Pulumi CLI: %w", err)
	}
	s.Address, s.done = fmt.Sprintf("127.0.0.1:%d", handle.Port), handle.Done
	return s, nil
}

// Close stops serving, after a running program's last call.
func (s *Server) Close() error {
	close(s.cancel)
	return <-s.done
}

// Run runs the program against the engine and resource monitor the CLI
// names; a program's error or panic is the update's error.
func (s *Server) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	var engine string
	if len(req.GetArgs()) > 0 {
		engine = req.GetArgs()[0]
	}
	ctx = context.WithValue(ctx, configKeysKey{}, slices.Sorted(maps.Keys(req.GetConfig())))
	pctx, err := pulumi.NewContext(ctx, pulumi.RunInfo{
		EngineAddr:       engine,
		MonitorAddr:      req.GetMonitorAddress(),
		Config:           req.GetConfig(),
		ConfigSecretKeys: req.GetConfigSecretKeys(),
		Project:          req.GetProject(),
		Stack:            req.GetStack(),
		Parallel:         req.GetParallel(),
		DryRun:           req.GetDryRun(),
		Organization:     req.GetOrganization(),
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = pctx.Close() }()
	if err := s.run(pctx); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

type configKeysKey struct{}

// ConfigKeys are the stack's config keys a program served here runs with
// (its pulumi.Context's Context()): the engine hands them to the runtime, as
// it hands PULUMI_CONFIG to a plain `pulumi up`, but a pulumi.Context gives
// no list of them. ok is false outside such a run.
func ConfigKeys(ctx context.Context) (keys []string, ok bool) {
	keys, ok = ctx.Value(configKeysKey{}).([]string)
	return keys, ok
}

func (s *Server) run(pctx *pulumi.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the program panicked: %v", r)
		}
	}()
	return pulumi.RunWithContext(pctx, s.program)
}

// GetRequiredPlugins is empty: the program registers its providers, whose
// plugins the CLI finds itself.
func (s *Server) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetPluginInfo gives the runtime's version, which the CLI records.
func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: "1.0.0"}, nil
}

// InstallDependencies has nothing to install: the program is compiled in.
func (s *Server) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}
