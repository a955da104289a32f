package testutil

import "fmt"

// SimulatedNode is the manifest of a sandbox node: kwok runs every node
// with its annotation, and this one has room for any stack. The end-to-end
// tests and the benchmark add such nodes.
func SimulatedNode(name string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,`+
		`"annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},`+
		`"labels":{"kubernetes.io/hostname":%q,"kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}},`+
		`"status":{"capacity":{"cpu":"32","memory":"256Gi","pods":"250","ephemeral-storage":"500Gi"},`+
		`"allocatable":{"cpu":"32","memory":"256Gi","pods":"250","ephemeral-storage":"500Gi"}}}`, name, name)
}
