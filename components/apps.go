package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Ports and health paths of the applications (see the stack facts).
const (
	BackendPort       = 8080
	WorkerPort        = 8080
	FrontendPort      = 3000
	BackendHealthPath = "/health"
	WorkerHealthPath  = "/health/basic"
	WorkerReadyPath   = "/health"
	// FrontendHealth is NextAuth's own route: it answers without a session
	// and without the backend (/api/health is only proxied to the backend).
	FrontendHealth = "/api/auth/session"
	// appUID is the non-root user the backend, worker and frontend images run as.
	appUID = 1000
)

// Backend is the FastAPI backend.
type Backend struct {
	Service
	URL pulumi.StringOutput
}

// NewBackend deploys the backend. Its startup probe allows 10 minutes: the
// first start runs every database migration before /health answers.
func NewBackend(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Backend, error) {
	c := &Backend{}
	err := registerService(ctx, "Backend", name, &c.Service, args, opts, func() (WorkloadArgs, error) {
		return WorkloadArgs{
			Role: "backend", PortName: "http", Port: BackendPort, EnvFrom: true,
			Env:       []Env{Literal("PORT", itoa(BackendPort))},
			RunAs:     RunAs{User: appUID, Group: appUID, FSGroup: appUID},
			Startup:   &Probe{Path: BackendHealthPath, PeriodSeconds: 10, FailureThreshold: 60},
			Readiness: Probe{Path: BackendHealthPath, PeriodSeconds: 10, FailureThreshold: 3},
			// Liveness only asks whether the server still accepts connections:
			// a slow /health under load must not restart a working pod.
			Liveness: Probe{PeriodSeconds: 20, FailureThreshold: 3},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	c.URL = HTTPURL(c.Address, "")
	return c, nil
}

// Worker is the Celery worker with its health server.
type Worker struct {
	Service
	HealthURL pulumi.StringOutput
}

// NewWorker deploys the worker; its health server listens on HEALTH_PORT.
func NewWorker(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Worker, error) {
	c := &Worker{}
	err := registerService(ctx, "Worker", name, &c.Service, args, opts, func() (WorkloadArgs, error) {
		return WorkloadArgs{
			Role: "worker", PortName: "health", Port: WorkerPort, EnvFrom: true,
			Env:     []Env{Literal("HEALTH_PORT", itoa(WorkerPort))},
			RunAs:   RunAs{User: appUID, Group: appUID, FSGroup: appUID},
			Startup: &Probe{Path: WorkerHealthPath, PeriodSeconds: 10, FailureThreshold: 30},
			// Ready means the broker is reachable (/health answers 503 otherwise);
			// alive means the health server is up.
			Readiness: Probe{Path: WorkerReadyPath, PeriodSeconds: 10, FailureThreshold: 3},
			Liveness:  Probe{Path: WorkerHealthPath, PeriodSeconds: 20, FailureThreshold: 3},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	c.HealthURL = HTTPURL(c.Address, WorkerHealthPath)
	return c, nil
}

// Frontend is the Next.js frontend.
type Frontend struct {
	Service
	URL pulumi.StringOutput
}

// NewFrontend deploys the frontend. HOSTNAME=0.0.0.0 makes Next.js listen on
// every interface; otherwise it binds the pod name and port-forward fails.
func NewFrontend(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Frontend, error) {
	c := &Frontend{}
	err := registerService(ctx, "Frontend", name, &c.Service, args, opts, func() (WorkloadArgs, error) {
		return WorkloadArgs{
			Role: "frontend", PortName: "http", Port: FrontendPort, EnvFrom: true,
			Env:       []Env{Literal("HOSTNAME", "0.0.0.0"), Literal("PORT", itoa(FrontendPort))},
			RunAs:     RunAs{User: appUID, Group: appUID, FSGroup: appUID},
			Startup:   &Probe{Path: FrontendHealth, PeriodSeconds: 10, FailureThreshold: 30},
			Readiness: Probe{Path: FrontendHealth, PeriodSeconds: 10, FailureThreshold: 3},
			Liveness:  Probe{PeriodSeconds: 20, FailureThreshold: 3},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	c.URL = HTTPURL(c.Address, "")
	return c, nil
}
