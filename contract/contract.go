// Package contract reads the app contract of a Rhesis release (what its
// containers need, read from its source) and checks rendered Kubernetes
// objects against it.
package contract

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// Contract is contract/rhesis-<release>.yaml.
type Contract struct {
	Release    string               `json:"release"`
	SourceTag  string               `json:"sourceTag"`
	Images     Images               `json:"images"`
	Containers map[string]Container `json:"containers"`
	Database   Database             `json:"database"`
	Ingress    Ingress              `json:"ingress"`
	Storage    Storage              `json:"storage"`
	Load       LoadFacts            `json:"load"`
}

// LoadFacts are what the code does under load and when its pods stop.
type LoadFacts struct {
	PoolPerProcess      Limit     `json:"poolPerProcess"`
	BackendProcesses    Processes `json:"backendProcesses"`
	WorkerProcesses     Limit     `json:"workerProcesses"`
	LongestTaskSeconds  Limit     `json:"longestTaskSeconds"`
	ReservedConnections Limit     `json:"reservedConnections"`
}

// Processes is how many processes a container runs: Variable's value
// (Default unset) when the variables in When have those values, else Otherwise.
type Processes struct {
	Variable  string            `json:"variable"`
	Default   int               `json:"default"`
	When      map[string]string `json:"when"`
	Otherwise int               `json:"otherwise"`
	Source    string            `json:"source"`
	Why       string            `json:"why"`
}

// Ingress is what a proxy in front of the applications must let through.
type Ingress struct {
	// APIAtRoot: the API serves its routes at /, so a route to it under a
	// prefix must strip the prefix.
	APIAtRoot          Limit `json:"apiAtRoot"`
	BodyBytes          Limit `json:"bodyBytes"`
	ReadTimeoutSeconds Limit `json:"readTimeoutSeconds"`
}

// Limit is a number the code relies on.
type Limit struct {
	Value  int64  `json:"value"`
	Source string `json:"source"`
	Why    string `json:"why"`
}

// Images are where the release's images are published.
type Images struct {
	Registry    string  `json:"registry"`
	Tag         string  `json:"tag"`
	Source      string  `json:"source"`
	Published   []Named `json:"published"`
	Unpublished []Named `json:"unpublished"`
}

// Named is a name with the source line it was read from.
type Named struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// Container is what one container of the release needs.
type Container struct {
	Image   string `json:"image"`
	Workdir Path   `json:"workdir"`
	Command Fact   `json:"command"`
	User    User   `json:"user"`
	Port    Port   `json:"port"`
	Health  []Path `json:"health"`
	Exposes []Path `json:"exposes"`
	// Trust is how the app's runtime takes a CA bundle: the variables it reads.
	Trust        *Trust        `json:"trust"`
	Requires     []EnvVar      `json:"requires"`
	RequiresWhen []Conditional `json:"requiresWhen"`
	Together     []Together    `json:"together"`
	Optional     []EnvVar      `json:"optional"`
	Behaviour    []Behaviour   `json:"behaviour"`
	Writable     []Writable    `json:"writable"`
	// Queues are the Celery queues the container consumes.
	Queues []Named `json:"queues"`
}

// Together are variables the code needs all of once one is set.
type Together struct {
	Names  []string `json:"names"`
	Source string   `json:"source"`
	Why    string   `json:"why"`
}

// Behaviour is something the code does that the deployment must respect.
type Behaviour struct {
	What   string `json:"what"`
	Source string `json:"source"`
}

// Fact is one value and where it was read.
type Fact struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

// User is the account an image runs as.
type User struct {
	UID    int    `json:"uid"`
	Name   string `json:"name"`
	Source string `json:"source"`
	Note   string `json:"note"`
	// AnyUser, when the image also runs as a user the platform assigns
	// (OpenShift's restricted-v2): why, and where the source shows it.
	AnyUser *Reason `json:"anyUser"`
}

// Trust is the variables through which a container's runtime and its TLS
// clients read a CA bundle.
type Trust struct {
	Runtime   string   `json:"runtime"`
	Variables []string `json:"variables"`
	Source    string   `json:"source"`
	Why       string   `json:"why"`
}

// Reason is a fact that is a judgement: what shows it, and why it holds.
type Reason struct {
	Source string `json:"source"`
	Why    string `json:"why"`
}

// Port is the port a container listens on, and the variable that sets it.
type Port struct {
	Number   int    `json:"number"`
	Variable string `json:"variable"`
	Source   string `json:"source"`
}

// Path is an HTTP path of a container.
type Path struct {
	Path      string `json:"path"`
	Auth      bool   `json:"auth"`
	Source    string `json:"source"`
	Public    string `json:"public"`
	Reference string `json:"reference"`
	Why       string `json:"why"`
}

// EnvVar is a variable a container needs to boot.
type EnvVar struct {
	Name   string   `json:"name"`
	Secret bool     `json:"secret"`
	Value  string   `json:"value"`
	Values []string `json:"values"`
	Source string   `json:"source"`
	Why    string   `json:"why"`
}

// Conditional is a variable needed only when other variables have values.
type Conditional struct {
	When map[string]string `json:"when"`
	EnvVar
}

// Writable is a path the container writes to. When names variables whose
// value (or, unset, whose default) starts with the given prefix for the path
// to be written; Variable is one the app finds the path by.
type Writable struct {
	Path     string            `json:"path"`
	When     map[string]string `json:"when"`
	Variable string            `json:"variable"`
	Shared   bool              `json:"shared"`
	Source   string            `json:"source"`
	Why      string            `json:"why"`
}

// Database is what the release needs of PostgreSQL.
type Database struct {
	Extensions []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		Image  string `json:"image"`
		// CloudNativePG is the image flavour of CloudNativePG's that
		// carries the extension: its repository, and what its tag holds.
		CloudNativePG struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Source     string `json:"source"`
		} `json:"cloudnativepg"`
	} `json:"extensions"`
	RowLevelSecurity struct {
		Source string `json:"source"`
		Policy string `json:"policy"`
	} `json:"rowLevelSecurity"`
	Roles []struct {
		Name        string `json:"name"`
		Variable    string `json:"variable"`
		FallsBackTo string `json:"falls_back_to"`
		Grants      string `json:"grants"`
		Source      string `json:"source"`
	} `json:"roles"`
}

// Storage is where backend and worker keep files.
type Storage struct {
	Shared struct {
		Path      string `json:"path"`
		Default   string `json:"default"`
		Source    string `json:"source"`
		Reference string `json:"reference"`
	} `json:"shared"`
	// Schemes are the STORAGE_SERVICE_URI schemes the images can serve, and
	// the variable each needs; any other falls back to Fallback.
	Schemes        []Scheme `json:"schemes"`
	Fallback       Path     `json:"fallback"`
	ImportSessions struct {
		Variable string `json:"variable"`
		Default  string `json:"default"`
		Source   string `json:"source"`
	} `json:"importSessions"`
}

// Scheme is a storage URI scheme the images serve, and the variable it needs.
type Scheme struct {
	Scheme   string `json:"scheme"`
	Requires string `json:"requires"`
	Source   string `json:"source"`
}

// File is the path of a release's contract below the repository root.
func File(root, release string) string {
	return filepath.Join(root, "contract", "rhesis-"+release+".yaml")
}

// Load reads the contract of release.
func Load(root, release string) (*Contract, error) {
	raw, err := os.ReadFile(File(root, release))
	if err != nil {
		return nil, fmt.Errorf("the app contract of Rhesis %s: %w (read the release's source and write it)", release, err)
	}
	var c Contract
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", File(root, release), err)
	}
	if c.Release != release {
		return nil, fmt.Errorf("%s: release %q, want %q", File(root, release), c.Release, release)
	}
	return &c, nil
}

// published reports whether the release publishes the image name.
func (c *Contract) published(name string) bool {
	for _, p := range c.Images.Published {
		if p.Name == name {
			return true
		}
	}
	return false
}

// defaultCommand is the command an image runs when a pod names none: the
// command of the container the image is published for.
func (c *Contract) defaultCommand(image string) string {
	if ct, ok := c.Containers[image]; ok && ct.Image == image {
		return ct.Command.Value
	}
	return ""
}
