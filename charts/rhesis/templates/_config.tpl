{{/*
The configuration every service reads: the ConfigMap rhesis-config and the
Secret rhesis-secrets, and the facts they are made of.
*/}}

{{/* The Secret pods read: the chart's own (or the one its ExternalSecret fills), or the one named by secrets.existingSecret. */}}
{{- define "rhesis.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "rhesis.name" (list . "rhesis-secrets")) -}}
{{- end }}

{{/*
Which value of secrets.* each key of the Secret holds: the names
secrets.secretKeyRefs and secrets.externalSecret.data are keyed by. The
application's database password is the owner's when it has no role of its
own. Read it with fromYaml.
*/}}
{{- define "rhesis.secretValues" -}}
SESSION_SECRET_KEY: sessionSecretKey
JWT_SECRET_KEY: jwtSecretKey
NEXTAUTH_SECRET: nextauthSecret
DB_ENCRYPTION_KEY: dbEncryptionKey
APP_DB_PASS: {{ ternary "dbAppPassword" "dbPassword" (eq (include "rhesis.appRole" .) "true") }}
{{- if include "rhesis.inClusterDatabase" . }}
ADMIN_DB_PASS: dbPassword
{{- end }}
REDIS_PASSWORD: redisPassword
AUDIT_HASH_KEY: auditHashKey
{{- $optional := dict }}{{ include "rhesis.optionalSecrets" (dict "root" . "out" $optional) }}
{{- range $key, $s := $optional }}
{{ $key }}: {{ $s.value }}
{{- end }}
{{- end }}

{{/*
The optional secrets that apply, set into .out as VAR: (dict "value" <the
name under secrets.*> "with" <the setting that requires it> "hint" <how to
make one>): an option's secret while the option is on, the others ("with"
empty) when given. Call with (dict "root" $ "out" <an empty dict>).
*/}}
{{- define "rhesis.optionalSecrets" -}}
{{- $v := .root.Values -}}
{{- if include "rhesis.cloudStorage" .root }}{{ $_ := set .out "STORAGE_SERVICE_ACCOUNT_KEY" (dict "value" "storageServiceAccountKey" "with" "storage.uri=gs://..." "hint" "$(base64 -w0 key.json)") }}{{ end -}}
{{- if $v.sso.enabled }}{{ $_ := set .out "SSO_ENCRYPTION_KEY" (dict "value" "ssoEncryptionKey" "with" "sso.enabled" "hint" "$(openssl rand -base64 32 | tr '+/' '-_')") }}{{ end -}}
{{- if $v.smtp.host }}{{ $_ := set .out "SMTP_PASSWORD" (dict "value" "smtpPassword" "with" "smtp.host" "hint" "<the relay's password>") }}{{ end -}}
{{- range $key, $value := dict "RHESIS_LICENSE" "license" "RHESIS_API_KEY" "rhesisApiKey" -}}
{{- if include "rhesis.secretGiven" (dict "root" $.root "value" $value) }}{{ $_ := set $.out $key (dict "value" $value "with" "") }}{{ end -}}
{{- end -}}
{{- end }}

{{/* "true" when secrets.<.value> is given: its value, a secretKeyRefs entry or an ExternalSecret entry. */}}
{{- define "rhesis.secretGiven" -}}
{{- $s := .root.Values.secrets -}}
{{- if or (index $s .value) (hasKey $s.secretKeyRefs .value) (and $s.externalSecret.enabled (hasKey $s.externalSecret.data .value)) }}true{{ end -}}
{{- end }}

{{/* "true" when uploaded files go to Google Cloud Storage (storage.uri gs:// or gcs://), "" for the claim. */}}
{{- define "rhesis.cloudStorage" -}}
{{- if regexMatch "^gc?s://" .Values.storage.uri }}true{{ end -}}
{{- end }}

{{/* Where a pod reads one key of the Secret: secrets.secretKeyRefs.<value> when given, else the Secret. Call with (dict "root" $ "key" KEY); read it with fromYaml. */}}
{{- define "rhesis.secretRef" -}}
{{- $value := index (include "rhesis.secretValues" .root | fromYaml) .key -}}
{{- with and $value (index .root.Values.secrets.secretKeyRefs $value) -}}
{{- toYaml . -}}
{{- else -}}
{{- toYaml (dict "name" (include "rhesis.secretName" .root) "key" .key) -}}
{{- end -}}
{{- end }}

{{/*
"true" when the chart does not hold the Redis password (an existing Secret,
a per-key reference, the ExternalSecret): the broker URLs are then composed
in the pod from $(REDIS_PASSWORD), so a store holds only the password.
*/}}
{{- define "rhesis.redisPasswordOutside" -}}
{{- $s := .Values.secrets -}}
{{- if or $s.existingSecret $s.externalSecret.enabled (hasKey $s.secretKeyRefs "redisPassword") }}true{{ end -}}
{{- end }}

{{/* "true" when the chart runs PostgreSQL, "" for none or an external one. */}}
{{- define "rhesis.inClusterDatabase" -}}
{{- if and .Values.database.enabled (not .Values.database.external.host) }}true{{ end -}}
{{- end }}

{{/* "true" when the in-cluster database is a CloudNativePG Cluster (templates/cloudnativepg.yaml), "" for the single pod or none. */}}
{{- define "rhesis.cloudnativepg" -}}
{{- if and (include "rhesis.inClusterDatabase" .) .Values.database.postgresql.cloudnativepg.enabled }}true{{ end -}}
{{- end }}

{{/* "true" when the chart runs PostgreSQL as the single pod of templates/postgres.yaml. */}}
{{- define "rhesis.databasePod" -}}
{{- if and (include "rhesis.inClusterDatabase" .) (not (include "rhesis.cloudnativepg" .)) }}true{{ end -}}
{{- end }}

{{/* The in-cluster database's address: the pod's Service, or the Service of the Cluster's primary (CloudNativePG names it <cluster>-rw). */}}
{{- define "rhesis.databaseHost" -}}
{{- include "rhesis.name" (list . "postgres") }}{{ if include "rhesis.cloudnativepg" . }}-rw{{ end -}}
{{- end }}

{{/* "true" when the chart runs Redis. */}}
{{- define "rhesis.inClusterRedis" -}}
{{- if and .Values.redis.enabled (not .Values.redis.external.host) }}true{{ end -}}
{{- end }}

{{/* The in-cluster database's owner: it migrates and backs up; the app runs as rhesis.appRole. */}}
{{- define "rhesis.dbOwner" -}}rhesis-user{{- end }}

{{/*
"true" when the application runs under a role of its own (rhesis-app) instead
of the database's owner (a superuser that bypasses row-level security): with
the in-cluster database. The backend's prepare-database init container sets
it up; migrations run as the owner.
*/}}
{{- define "rhesis.appRole" -}}
{{- if and (include "rhesis.inClusterDatabase" .) .Values.backend.enabled }}true{{ end -}}
{{- end }}

{{/* BACKEND_ENV, WORKER_ENV and FRONTEND_ENV of the environment. */}}
{{- define "rhesis.appEnv" -}}
{{- if eq .Values.global.environment "prod" }}production{{ else }}{{ .Values.global.environment }}{{ end -}}
{{- end }}

{{/*
How browsers reach the stack: the Ingress's or the Gateway API routes' host,
API host or path, and scheme; empty host when neither is on. Read it with fromYaml.
*/}}
{{- define "rhesis.public" -}}
{{- $in := .Values.ingress -}}
{{- $gw := .Values.gateway -}}
{{- if $gw.enabled -}}
host: {{ $gw.host | quote }}
apiHost: {{ $gw.apiHost | quote }}
apiPath: {{ $gw.apiPath | quote }}
scheme: {{ ternary "https" "http" $gw.https }}
{{- else if $in.enabled -}}
host: {{ $in.host | quote }}
apiHost: {{ $in.apiHost | quote }}
apiPath: {{ $in.apiPath | quote }}
scheme: {{ ternary "https" "http" (or (ne $in.tlsSecret "") (ne $in.clusterIssuer "")) }}
{{- else -}}
host: ""
{{- end -}}
{{- end }}

{{/* The namespace of the gateway's pods, which the network policies admit: gateway.namespace, else the first parentRef's. */}}
{{- define "rhesis.gatewayNamespace" -}}
{{- /* A parentRef without a namespace yields nothing (an include would print "<no value>"). */ -}}
{{- .Values.gateway.namespace | default (get (first .Values.gateway.parentRefs | default dict) "namespace") -}}
{{- end }}

{{/* The backend API's own host: the apiHost set, else api.<host> unless apiPath is used. */}}
{{- define "rhesis.apiHost" -}}
{{- $p := include "rhesis.public" . | fromYaml -}}
{{- if $p.apiHost }}{{ $p.apiHost }}{{ else if and $p.host (not $p.apiPath) }}api.{{ $p.host }}{{ end -}}
{{- end }}

{{/* The browser URLs: as set, else from the public hosts, else in local the ports forwarded to localhost. Call with (dict "root" $ "which" "frontend"|"api"). */}}
{{- define "rhesis.browserURL" -}}
{{- $g := .root.Values.global -}}
{{- $p := include "rhesis.public" .root | fromYaml -}}
{{- $set := ternary $g.frontendUrl $g.apiBaseUrl (eq .which "frontend") -}}
{{- $v := .root.Values -}}
{{- if $set -}}
{{- $set -}}
{{- else if not $p.host -}}
{{- if eq $g.environment "local" }}{{ printf "http://localhost:%v" (ternary $v.frontend.port $v.backend.port (eq .which "frontend")) }}{{ end -}}
{{- else if eq .which "frontend" }}{{ printf "%s://%s" $p.scheme $p.host }}
{{- else if $p.apiPath }}{{ printf "%s://%s%s" $p.scheme $p.host $p.apiPath }}
{{- else }}{{ printf "%s://%s" $p.scheme (include "rhesis.apiHost" .root) }}{{ end -}}
{{- end }}

{{/* The ConfigMap's data: everything non-secret the applications read (also digested into pod annotations). */}}
{{- define "rhesis.configData" -}}
{{- $v := .Values -}}
{{- $e := $v.database.external -}}
{{- $r := $v.redis.external -}}
{{- $env := include "rhesis.appEnv" . -}}
{{- $frontendUrl := include "rhesis.browserURL" (dict "root" . "which" "frontend") -}}
DB_HOST: {{ $e.host | default (include "rhesis.databaseHost" .) | quote }}
DB_PORT: {{ ternary $e.port $v.database.postgresql.port (ne $e.host "") | toString | quote }}
DB_NAME: {{ ternary $e.database "rhesis-db" (ne $e.host "") | quote }}
DB_DRIVER: {{ $v.database.type | quote }}
APP_DB_USER: {{ ternary "rhesis-app" (ternary $e.user (include "rhesis.dbOwner" .) (ne $e.host "")) (eq (include "rhesis.appRole" .) "true") | quote }}
{{- if and $e.host $e.sslMode }}
PGSSLMODE: {{ $e.sslMode | quote }}
{{- end }}
REDIS_HOST: {{ $r.host | default (include "rhesis.name" (list . "redis")) | quote }}
REDIS_PORT: {{ ternary $r.port $v.redis.port (ne $r.host "") | toString | quote }}
BACKEND_ENV: {{ $env | quote }}
WORKER_ENV: {{ $env | quote }}
FRONTEND_ENV: {{ $env | quote }}
LOG_LEVEL: {{ $v.global.logLevel | quote }}
OTEL_RHESIS_TELEMETRY_ENABLED: {{ $v.global.telemetry | toString | quote }}
FRONTEND_URL: {{ $frontendUrl | quote }}
NEXTAUTH_URL: {{ $frontendUrl | quote }}
API_BASE_URL: {{ include "rhesis.browserURL" (dict "root" . "which" "api") | quote }}
BACKEND_URL: {{ printf "http://%s:%v" (include "rhesis.name" (list . "backend")) $v.backend.port | quote }}
CELERY_WORKER_CONCURRENCY: {{ $v.worker.concurrency | toString | quote }}
CELERY_WORKER_PREFETCH_MULTIPLIER: {{ $v.worker.prefetchMultiplier | toString | quote }}
NEXT_TELEMETRY_DISABLED: "1"
{{- if $v.storage.uri }}
STORAGE_SERVICE_URI: {{ $v.storage.uri | quote }}
{{- end }}
{{- /* A file import keeps its upload on disk between requests; on the claim, the next request may reach another replica. */}}
IMPORT_SESSION_DIR: "/app/storage/import-sessions"
{{- with $v.smtp }}{{ if .host }}
SMTP_HOST: {{ .host | quote }}
SMTP_PORT: {{ .port | toString | quote }}
SMTP_USER: {{ .user | quote }}
{{- with .from }}
FROM_EMAIL: {{ . | quote }}
{{- end }}
{{- with .assetBaseUrl }}
EMAIL_ASSET_BASE_URL: {{ . | quote }}
{{- end }}
{{- end }}{{ end }}
{{- range $k := list "generation" "evaluation" "execution" "embedding" }}
{{- with index $v.models $k }}
DEFAULT_{{ upper $k }}_MODEL: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Celery queues as redis_exporter's single keys: lists in the broker's database (0, BROKER_URL's). */}}
{{- define "rhesis.celeryQueueKeys" -}}
{{- $keys := list }}{{ range .Values.worker.keda.queues }}{{ $keys = append $keys (printf "db0=%s" .) }}{{ end }}{{ join "," $keys }}
{{- end }}

{{/* Broker URL for Redis database .db: the chart's password query-escaped (%20 for spaces), or $(REDIS_PASSWORD) for Kubernetes to expand in the pod; rediss:// to an external Redis over TLS. */}}
{{- define "rhesis.redisURL" -}}
{{- $e := .root.Values.redis.external -}}
{{- $password := .root.Values.secrets.redisPassword | urlquery | replace "+" "%20" -}}
{{- if include "rhesis.redisPasswordOutside" .root }}{{ $password = "$(REDIS_PASSWORD)" }}{{ end -}}
{{- if $e.host -}}
{{- printf "%s://:%s@%s:%v/%d%s" (ternary "rediss" "redis" $e.tls) $password $e.host $e.port (int .db) (ternary "?ssl_cert_reqs=required" "" $e.tls) -}}
{{- else -}}
{{- printf "redis://:%s@%s:%v/%d" $password (include "rhesis.name" (list .root "redis")) .root.Values.redis.port (int .db) -}}
{{- end -}}
{{- end }}

{{/* The Secret's data: the required secrets but those read from elsewhere (secrets.secretKeyRefs), the optional ones, and the broker URLs while the chart holds the Redis password. */}}
{{- define "rhesis.secretData" -}}
{{- $s := .Values.secrets -}}
{{- range $k, $v := $s.extra }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- range $key, $value := include "rhesis.secretValues" . | fromYaml }}
{{- if not (hasKey $s.secretKeyRefs $value) }}
{{ $key }}: {{ index $s $value | quote }}
{{- end }}
{{- end }}
{{- if not (include "rhesis.redisPasswordOutside" .) }}
BROKER_URL: {{ include "rhesis.redisURL" (dict "root" . "db" 0) | quote }}
CELERY_RESULT_BACKEND: {{ include "rhesis.redisURL" (dict "root" . "db" 1) | quote }}
{{- end }}
{{- end }}

{{/*
The ExternalSecret (External Secrets Operator) that fills the Secret
rhesis-secrets from secrets.externalSecret.secretStoreRef: one entry per key
of the Secret, from secrets.externalSecret.data.<value>. It holds only
primitives; the pods compose the broker URLs.
*/}}
{{- define "rhesis.externalSecret" -}}
{{- $x := .Values.secrets.externalSecret -}}
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  {{- include "rhesis.metadata" (dict "root" . "name" "rhesis" "role" "platform" "object" "rhesis-secrets") | nindent 2 }}
spec:
  refreshInterval: {{ $x.refreshInterval | quote }}
  secretStoreRef:
    name: {{ $x.secretStoreRef.name }}
    kind: {{ $x.secretStoreRef.kind }}
  target:
    name: {{ include "rhesis.name" (list . "rhesis-secrets") }}
    creationPolicy: Owner
  data:
    {{- range $key, $value := include "rhesis.secretValues" . | fromYaml }}
    {{- with index $x.data $value }}
    - secretKey: {{ $key }}
      remoteRef:
        {{- toYaml . | nindent 8 }}
    {{- end }}
    {{- end }}
{{- end }}

{{/* The .dockerconfigjson of rhesis-registry. */}}
{{- define "rhesis.dockerConfig" -}}
{{- $c := .Values.global.imageCredentials -}}
{{- $pw := .Values.secrets.registryPassword -}}
{{- toJson (dict "auths" (dict $c.registry (dict "username" $c.username "password" $pw "auth" (printf "%s:%s" $c.username $pw | b64enc)))) -}}
{{- end }}

{{/* sha256 of a map's sorted "key=value\n" lines: rolls the pods when the configuration changes. */}}
{{- define "rhesis.checksum" -}}
{{- $m := . -}}
{{- $s := "" -}}
{{- range $k := keys $m | sortAlpha }}{{ $s = printf "%s%s=%s\n" $s $k (index $m $k) }}{{ end -}}
{{- $s | sha256sum -}}
{{- end }}
