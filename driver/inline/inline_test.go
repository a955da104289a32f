package inline

import (
	"context"
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// monitor is the engine's resource monitor as far as a program that
// registers only its stack needs one.
type monitor struct {
	pulumirpc.UnimplementedResourceMonitorServer
}

func (monitor) SupportsFeature(context.Context, *pulumirpc.SupportsFeatureRequest) (*pulumirpc.SupportsFeatureResponse, error) {
	return &pulumirpc.SupportsFeatureResponse{}, nil
}

func (monitor) RegisterResource(_ context.Context, req *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	return &pulumirpc.RegisterResourceResponse{Urn: "urn:pulumi:dev::rhesis::" + req.GetType() + "::" + req.GetName()}, nil
}

func (monitor) RegisterResourceOutputs(context.Context, *pulumirpc.RegisterResourceOutputsRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// startMonitor serves a monitor and returns its address.
func startMonitor(t *testing.T) string {
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{Cancel: cancel, Init: func(srv *grpc.Server) error {
		pulumirpc.RegisterResourceMonitorServer(srv, monitor{})
		return nil
	}})
	require.NoError(t, err)
	t.Cleanup(func() { close(cancel); assert.NoError(t, <-handle.Done) })
	return fmt.Sprintf("127.0.0.1:%d", handle.Port)
}

func TestRunHandsTheProgramItsConfigKeys(t *testing.T) {
	var seen []string
	var ok bool
	s, err := Serve(func(ctx *pulumi.Context) error {
		seen, ok = ConfigKeys(ctx.Context())
		return nil
	})
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.Close()) }()
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, s.Address)

	res, err := s.Run(context.Background(), &pulumirpc.RunRequest{Project: "rhesis", Stack: "dev", MonitorAddress: startMonitor(t),
		Config: map[string]string{"rhesis:namespace": "rhesis", "rhesis:environment": "local"}})
	require.NoError(t, err)
	require.Empty(t, res.GetError())
	require.True(t, ok, "a served program finds its config keys")
	assert.Equal(t, []string{"rhesis:environment", "rhesis:namespace"}, seen)

	_, ok = ConfigKeys(context.Background())
	assert.False(t, ok, "outside a served run there are none")
}

func TestAProgramsPanicIsTheRunsError(t *testing.T) {
	s, err := Serve(func(*pulumi.Context) error { panic("boom") })
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.Close()) }()
	res, err := s.Run(context.Background(), &pulumirpc.RunRequest{Project: "rhesis", Stack: "dev", MonitorAddress: startMonitor(t)})
	require.NoError(t, err)
	assert.Contains(t, res.GetError(), "the program panicked: boom")
}
