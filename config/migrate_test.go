package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMigrateMovesEveryKeyOfTheSettingsModelBefore: the keys of the
// previous version land on the chart's paths or rhesis:deploy, values and
// encryption kept; keys already in place are left alone.
func TestMigrateMovesEveryKeyOfTheSettingsModelBefore(t *testing.T) {
	old := map[string]ConfigValue{
		"rhesis:environment":             {Value: "prod"},
		"rhesis:namespace":               {Value: "rhesis-prod"},
		"rhesis:createNamespace":         {Value: "false"},
		"rhesis:logLevel":                {Value: "DEBUG"},
		"rhesis:frontendUrl":             {Value: "https://rhesis.example.com"},
		"rhesis:dbPassword":              {Value: "s3cret", Secret: true},
		"rhesis:extraSecrets":            {Value: `{"OPENAI_API_KEY":"sk-1"}`, Secret: true},
		"rhesis:postgres":                {Value: `{"enabled":true,"persistence":{"keep":true,"size":"100Gi"},"external":{"host":""}}`},
		"rhesis:images":                  {Value: `{"tag":"0.13.0","registry":"ghcr.io/acme","registryUsername":"bot","pullSecrets":"a, b","build":false}`},
		"rhesis:images.registryPassword": {Value: "tok", Secret: true},
		"rhesis:scheduling":              {Value: `{"spreadAcrossNodes":true}`},
		"rhesis:migrate":                 {Value: `{"image":{"tag":"abc"}}`},
		"rhesis:backend":                 {Value: `{"replicas":3}`},
		"rhesis:worker.replicas":         {Value: "7"},
		"rhesis:networkPolicies":         {Value: `{"egressPorts":"443,587"}`},
		"rhesis:frontend":                {Value: `{"serviceAccount":{"rules":"[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],\"verbs\":[\"get\"]}]"}}`},
		"rhesis:secretKeyRefs":           {Value: `{"dbPassword":{"name":"db","key":"pw"}}`},
	}
	m := Migrate(old)
	want := map[string]ConfigValue{
		"rhesis:deploy.namespace":                              {Value: "rhesis-prod"},
		"rhesis:deploy.createNamespace":                        {Value: "false"},
		"rhesis:global.logLevel":                               {Value: "DEBUG"},
		"rhesis:global.frontendUrl":                            {Value: "https://rhesis.example.com"},
		"rhesis:secrets.dbPassword":                            {Value: "s3cret", Secret: true},
		"rhesis:secrets.extra.OPENAI_API_KEY":                  {Value: "sk-1", Secret: true},
		"rhesis:database.enabled":                              {Value: "true"},
		"rhesis:database.postgresql.persistence.keep":          {Value: "true"},
		"rhesis:database.postgresql.persistence.size":          {Value: "100Gi"},
		"rhesis:database.external.host":                        {Value: ""},
		"rhesis:global.imageTag":                               {Value: "0.13.0"},
		"rhesis:deploy.images.registry":                        {Value: "ghcr.io/acme"},
		"rhesis:deploy.images.build":                           {Value: "false"},
		"rhesis:global.imageCredentials.username":              {Value: "bot"},
		"rhesis:global.imageCredentials.registry":              {Value: "ghcr.io"},
		"rhesis:secrets.registryPassword":                      {Value: "tok", Secret: true},
		"rhesis:global.imagePullSecrets[0]":                    {Value: "a"},
		"rhesis:global.imagePullSecrets[1]":                    {Value: "b"},
		"rhesis:global.spreadAcrossNodes":                      {Value: "true"},
		"rhesis:migrations.image.tag":                          {Value: "abc"},
		"rhesis:worker.replicas":                               {Value: "7"},
		"rhesis:frontend.image.repository":                     {Value: "ghcr.io/acme/frontend"},
		"rhesis:backend.image.repository":                      {Value: "ghcr.io/acme/backend"},
		"rhesis:worker.image.repository":                       {Value: "ghcr.io/acme/worker"},
		"rhesis:secrets.secretKeyRefs.dbPassword.name":         {Value: "db"},
		"rhesis:secrets.secretKeyRefs.dbPassword.key":          {Value: "pw"},
		"rhesis:networkPolicies.egressPorts[0]":                {Value: "443"},
		"rhesis:networkPolicies.egressPorts[1]":                {Value: "587"},
		"rhesis:frontend.serviceAccount.rules[0].apiGroups[0]": {Value: ""},
		"rhesis:frontend.serviceAccount.rules[0].resources[0]": {Value: "configmaps"},
		"rhesis:frontend.serviceAccount.rules[0].verbs[0]":     {Value: "get"},
	}
	assert.Equal(t, want, m.Set)
	assert.ElementsMatch(t, []string{"rhesis:namespace", "rhesis:createNamespace", "rhesis:logLevel", "rhesis:frontendUrl",
		"rhesis:dbPassword", "rhesis:extraSecrets", "rhesis:postgres", "rhesis:images", "rhesis:images.registryPassword",
		"rhesis:scheduling", "rhesis:migrate", "rhesis:worker.replicas", "rhesis:secretKeyRefs",
		"rhesis:networkPolicies", "rhesis:frontend"}, m.Remove,
		"rhesis:backend is where it belongs and stays; the objects with a list kept as text are written anew")
}

// TestMigrateTurnsTextListsIntoLists: settings written as text that are
// lists now become one entry per item.
func TestMigrateTurnsTextListsIntoLists(t *testing.T) {
	m := Migrate(map[string]ConfigValue{
		"rhesis:networkPolicies.egressPorts":   {Value: "443,587"},
		"rhesis:frontend.serviceAccount.rules": {Value: `[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]`},
	})
	assert.Equal(t, map[string]ConfigValue{
		"rhesis:networkPolicies.egressPorts[0]":                {Value: "443"},
		"rhesis:networkPolicies.egressPorts[1]":                {Value: "587"},
		"rhesis:frontend.serviceAccount.rules[0].apiGroups[0]": {Value: ""},
		"rhesis:frontend.serviceAccount.rules[0].resources[0]": {Value: "configmaps"},
		"rhesis:frontend.serviceAccount.rules[0].verbs[0]":     {Value: "get"},
	}, m.Set)
}

// TestMigrateLeavesACurrentStackAlone: nothing to move, nothing removed.
func TestMigrateLeavesACurrentStackAlone(t *testing.T) {
	m := Migrate(map[string]ConfigValue{
		"rhesis:environment": {Value: "prod"},
		"rhesis:deploy":      {Value: `{"namespace":"x"}`},
		"rhesis:secrets":     {Value: `{"dbPassword":"x"}`, Secret: true},
		"rhesis:backend":     {Value: `{"replicas":3}`},
	})
	assert.Empty(t, m.Set)
	assert.Empty(t, m.Remove)
}
