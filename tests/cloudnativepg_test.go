package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cloudnativepgValues run the database as a CloudNativePG Cluster archiving
// to an S3-compatible store, with the chart's dumps off-site too.
func cloudnativepgValues() map[string]any {
	return map[string]any{
		"database": map[string]any{"postgresql": map[string]any{"cloudnativepg": map[string]any{"enabled": true}}},
		"backup": map[string]any{"enabled": true,
			"remote":     map[string]any{"url": "s3://rhesis-backups/prod/", "endpoint": "http://seaweedfs.storage:8333", "credentialsSecret": "offsite-credentials"},
			"encryption": map[string]any{"passphrase": map[string]any{"name": "rhesis-backup-key", "key": "passphrase"}}},
		"monitoring": map[string]any{"enabled": true},
	}
}

// recoveryValues make a Cluster recovered from the backups of "postgres"
// up to a point in time, archiving to a folder of its own.
func recoveryValues() map[string]any {
	return map[string]any{"database": map[string]any{"postgresql": map[string]any{"cloudnativepg": map[string]any{
		"backups":  map[string]any{"serverName": "postgres-recovered"},
		"recovery": map[string]any{"enabled": true, "fromServerName": "postgres", "targetTime": "2026-12-05T03:00:00Z"},
	}}}}
}

func objectNamed(t *testing.T, objs []manifest, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o.Object
		}
	}
	t.Fatalf("no %s/%s in the render", kind, name)
	return nil
}

func hasKindName(objs []manifest, kind, name string) bool {
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return true
		}
	}
	return false
}

// TestCloudNativePGCluster: with database.postgresql.cloudnativepg the
// database is a Cluster in place of the single pod, with the roles,
// extension and connections the app contract asks for, the apps reach its
// primary, and it archives WAL and base backups to the object store.
func TestCloudNativePGCluster(t *testing.T) {
	t.Parallel()
	pod := mustRender(t, envValues(t, "prod"))
	objs := mustRender(t, layer(envValues(t, "prod"), cloudnativepgValues()))

	for _, gone := range [][2]string{{"Deployment", "postgres"}, {"PersistentVolumeClaim", "postgres-pvc"}, {"Service", "postgres"}, {"ServiceAccount", "postgres"}} {
		assert.False(t, hasKindName(objs, gone[0], gone[1]), "%s/%s is the single pod's", gone[0], gone[1])
	}
	cluster := objectNamed(t, objs, "Cluster", "postgres")
	spec := cluster["spec"]
	assert.EqualValues(t, 3, dig(spec, "instances"))
	assert.Contains(t, dig(spec, "imageName"), "-standard-", "the standard image carries pgvector")

	config := objectNamed(t, objs, "ConfigMap", "rhesis-config")["data"]
	assert.Equal(t, "postgres-rw", dig(config, "DB_HOST"), "the apps reach the primary")
	assert.Equal(t, "rhesis-app", dig(config, "APP_DB_USER"), "the apps run under the role row-level security applies to")
	initdb := dig(spec, "bootstrap", "initdb")
	assert.Equal(t, dig(config, "DB_NAME"), dig(initdb, "database"))
	assert.Equal(t, "rhesis-user", dig(initdb, "owner"), "the owner migrates and sets up rhesis-app")
	assert.Equal(t, []any{"CREATE EXTENSION IF NOT EXISTS vector"}, dig(initdb, "postInitApplicationSQL"))
	role := dig(spec, "managed", "roles", 0)
	assert.Equal(t, map[string]any{"name": "rhesis-user", "ensure": "present", "login": true, "superuser": true,
		"passwordSecret": map[string]any{"name": "postgres-owner"}}, role,
		"prepare-database sets NOSUPERUSER and NOBYPASSRLS on rhesis-app, which only a superuser may")
	assert.Equal(t, false, dig(spec, "enableSuperuserAccess"))
	owner := objectNamed(t, objs, "Secret", "postgres-owner")
	assert.Equal(t, "kubernetes.io/basic-auth", owner["type"])
	assert.Equal(t, map[string]any{"username": "rhesis-user", "password": testSecrets["dbPassword"]}, owner["stringData"],
		"the owner's password is the one migrations and backups use (ADMIN_DB_PASS)")

	// The same connection budget as the single pod's server.
	args := dig(objectNamed(t, pod, "Deployment", "postgres"), "spec", "template", "spec", "containers", 0, "args").([]any)
	assert.Equal(t, "max_connections="+dig(spec, "postgresql", "parameters", "max_connections").(string), args[len(args)-1])

	// The instances carry the single pod's selector labels: the policies and
	// the pre-change backup's check find them.
	policy := objectNamed(t, objs, "NetworkPolicy", "postgres")
	assert.Equal(t, dig(policy, "spec", "podSelector", "matchLabels"), dig(spec, "inheritedMetadata", "labels"))
	ingress := policyText(policy, "ingress")
	assert.Contains(t, ingress, "namespace=cnpg-system ports=8000", "the operator polls the status port")
	assert.Contains(t, ingress, "app=postgres ports=5432,8000", "replicas stream from the primary")
	assert.Contains(t, ingress, "namespace=monitoring ports=9187", "Prometheus scrapes the instances")
	egress := policyText(policy, "egress")
	assert.Contains(t, egress, "cidr=0.0.0.0/0 ports=443,6443", "the instance manager talks to the API server")
	assert.Contains(t, egress, "cidr=0.0.0.0/0 ports=8333", "WAL goes to the store")

	store := objectNamed(t, objs, "ObjectStore", "postgres-backups")
	assert.Equal(t, map[string]any{
		"destinationPath": "s3://rhesis-backups/prod/cloudnativepg",
		"endpointURL":     "http://seaweedfs.storage:8333",
		"s3Credentials": map[string]any{
			"accessKeyId":     map[string]any{"name": "offsite-credentials", "key": "AWS_ACCESS_KEY_ID"},
			"secretAccessKey": map[string]any{"name": "offsite-credentials", "key": "AWS_SECRET_ACCESS_KEY"}},
		"wal":  map[string]any{"compression": "gzip"},
		"data": map[string]any{"compression": "gzip"},
	}, dig(store, "spec", "configuration"))
	assert.Equal(t, "30d", dig(store, "spec", "retentionPolicy"))
	assert.Equal(t, []any{map[string]any{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
		"parameters": map[string]any{"barmanObjectName": "postgres-backups", "serverName": "postgres"}}}, dig(spec, "plugins"))
	scheduled := objectNamed(t, objs, "ScheduledBackup", "postgres-base-backup")
	assert.Equal(t, "postgres", dig(scheduled, "spec", "cluster", "name"))
	assert.Equal(t, "plugin", dig(scheduled, "spec", "method"))
	assert.Len(t, strings.Fields(dig(scheduled, "spec", "schedule").(string)), 6, "the operator's cron has seconds first")
	assert.Equal(t, true, dig(scheduled, "spec", "immediate"), "recovery needs a base backup")

	// The chart's dumps still run, against the primary, without the single
	// pod's affinity.
	cron := objectNamed(t, objs, "CronJob", "postgres-backup")
	assert.Nil(t, dig(cron, "spec", "jobTemplate", "spec", "template", "spec", "affinity", "podAffinity"))
	metrics := objectNamed(t, objs, "Service", "postgres-metrics")
	assert.Equal(t, "metrics", dig(metrics, "spec", "ports", 0, "targetPort"))
	assert.True(t, hasKindName(objs, "ServiceMonitor", "postgres"))
}

// TestCloudNativePGRecovery: recovery makes the Cluster from the store's
// backups of another server, up to the time asked.
func TestCloudNativePGRecovery(t *testing.T) {
	t.Parallel()
	objs := mustRender(t, layer(envValues(t, "prod"), cloudnativepgValues(), recoveryValues()))
	spec := objectNamed(t, objs, "Cluster", "postgres")["spec"]
	assert.Nil(t, dig(spec, "bootstrap", "initdb"))
	assert.Equal(t, map[string]any{"source": "origin", "database": "rhesis-db", "owner": "rhesis-user",
		"secret": map[string]any{"name": "postgres-owner"}, "recoveryTarget": map[string]any{"targetTime": "2026-12-05T03:00:00Z"}},
		dig(spec, "bootstrap", "recovery"))
	assert.Equal(t, []any{map[string]any{"name": "origin", "plugin": map[string]any{"name": "barman-cloud.cloudnative-pg.io",
		"parameters": map[string]any{"barmanObjectName": "postgres-backups", "serverName": "postgres"}}}}, dig(spec, "externalClusters"))
	assert.Equal(t, "postgres-recovered", dig(spec, "plugins", 0, "parameters", "serverName"), "archives to a folder of its own")
}

// TestCloudNativePGRefusals: what cannot work is refused before anything
// is created, with the key and the fix.
func TestCloudNativePGRefusals(t *testing.T) {
	t.Parallel()
	cnpg := func(v map[string]any) map[string]any {
		return map[string]any{"database": map[string]any{"postgresql": map[string]any{"cloudnativepg": v}}}
	}
	cases := map[string]struct {
		values map[string]any
		want   string
	}{
		"local": {layer(envValues(t, "local"), cnpg(map[string]any{"enabled": true, "backups": map[string]any{"enabled": false}})),
			"database.postgresql.cloudnativepg.enabled is for staging and prod"},
		"no store": {layer(envValues(t, "prod"), cnpg(map[string]any{"enabled": true})),
			"database.postgresql.cloudnativepg.backups needs an object store"},
		"azure": {layer(envValues(t, "prod"), cloudnativepgValues(), map[string]any{"backup": map[string]any{"remote": map[string]any{
			"url": "azureblob://rhesis/prod", "endpoint": "", "credentialsSecret": ""}}}),
			"database.postgresql.cloudnativepg.backups.destinationPath is required with backup.remote.url=azureblob://rhesis/prod"},
		"recovery without origin": {layer(envValues(t, "prod"), cloudnativepgValues(), cnpg(map[string]any{"recovery": map[string]any{"enabled": true}})),
			"database.postgresql.cloudnativepg.recovery.fromServerName is required"},
		"recovery into its origin": {layer(envValues(t, "prod"), cloudnativepgValues(), cnpg(map[string]any{"recovery": map[string]any{"enabled": true, "fromServerName": "postgres"}})),
			"database.postgresql.cloudnativepg.backups.serverName must differ from recovery.fromServerName (postgres)"},
		"no owner password": {layer(envValues(t, "prod"), cloudnativepgValues(), map[string]any{"secrets": map[string]any{"dbPassword": "",
			"secretKeyRefs": map[string]any{"dbPassword": map[string]any{"name": "db", "key": "password"}}}}),
			"database.postgresql.cloudnativepg.ownerSecret is required when the chart does not hold secrets.dbPassword"},
		"schedule of five fields": {layer(envValues(t, "prod"), cloudnativepgValues(), cnpg(map[string]any{"backups": map[string]any{"schedule": "0 2 * * *"}})),
			"cloudnativepg/backups/schedule"},
	}
	for name, c := range cases {
		_, _, err := render(t, c.values)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
	// An owner Secret of the operator's own makes a chart without the password work.
	objs := mustRender(t, layer(envValues(t, "prod"), cloudnativepgValues(), cnpg(map[string]any{"ownerSecret": "db-owner"}), map[string]any{"secrets": map[string]any{"dbPassword": "",
		"secretKeyRefs": map[string]any{"dbPassword": map[string]any{"name": "db", "key": "password"}}}}))
	assert.False(t, hasKindName(objs, "Secret", "postgres-owner"))
	assert.Equal(t, "db-owner", dig(objectNamed(t, objs, "Cluster", "postgres"), "spec", "bootstrap", "initdb", "secret", "name"))
}

// policyText is a NetworkPolicy's rules of one direction, one line each:
// "app=<name>|namespace=<name>|cidr=<block> ports=<p>,<p>".
func policyText(policy map[string]any, direction string) string {
	side := map[string]string{"ingress": "from", "egress": "to"}[direction]
	var lines []string
	for _, rule := range asList(dig(policy, "spec", direction)) {
		var peers, ports []string
		for _, p := range asList(dig(rule, side)) {
			switch {
			case dig(p, "podSelector", "matchLabels", "app.kubernetes.io/name") != nil:
				peers = append(peers, "app="+dig(p, "podSelector", "matchLabels", "app.kubernetes.io/name").(string))
			case dig(p, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != nil:
				peers = append(peers, "namespace="+dig(p, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name").(string))
			case dig(p, "ipBlock", "cidr") != nil:
				peers = append(peers, "cidr="+dig(p, "ipBlock", "cidr").(string))
			}
		}
		for _, p := range asList(dig(rule, "ports")) {
			ports = append(ports, fmt.Sprint(dig(p, "port")))
		}
		for _, peer := range peers {
			lines = append(lines, peer+" ports="+strings.Join(ports, ","))
		}
	}
	return strings.Join(lines, "\n")
}

// TestCloudNativePGKeepsTheContract: the Cluster's render keeps the app
// contract, and the check fails for an image without pgvector or apps that
// connect as the owner.
func TestCloudNativePGKeepsTheContract(t *testing.T) {
	t.Parallel()
	c := appContract(t)
	values := layer(envValues(t, "prod"), cloudnativepgValues())
	assert.Empty(t, violations(c.Check(chartRender(t, values, nil))))

	minimal := layer(values, map[string]any{"database": map[string]any{"postgresql": map[string]any{"cloudnativepg": map[string]any{
		"imageName": "ghcr.io/cloudnative-pg/postgresql:16-minimal-trixie"}}}})
	assert.Contains(t, violations(c.Check(chartRender(t, minimal, nil))),
		"Cluster/postgres: extension vector")
	asOwner := chartRender(t, values, nil)
	backend := containerNamed(t, asOwner, "Deployment", "backend", "backend")
	backend["env"] = append(asList(backend["env"]), map[string]any{"name": "APP_DB_USER", "value": "rhesis-user"})
	assert.Contains(t, violations(c.Check(asOwner)), "connects as rhesis-user, the database's owner and a superuser")
}
