{{/*
Names, labels and the shared building blocks. Object names are the seed's
(frontend, backend, worker, postgres, redis, postgres-pvc) so the commands
users already type keep working; the release name is the instance label.
*/}}

{{/* Selector labels of one component; never changed after install. Call with (dict "root" $ "name" "backend"). */}}
{{- define "rhesis.selectorLabels" -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* All labels of one component's objects. Call with (dict "root" $ "name" "backend" "role" "backend"). */}}
{{- define "rhesis.labels" -}}
{{ include "rhesis.selectorLabels" . }}
app.kubernetes.io/component: {{ .role }}
app.kubernetes.io/part-of: rhesis
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- if eq .root.Release.Service "Helm" }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}
{{- end }}

{{/* The Secret pods read: the chart's own, or the one named by secrets.existingSecret. */}}
{{- define "rhesis.secretName" -}}
{{- .Values.secrets.existingSecret | default "rhesis-secrets" -}}
{{- end }}

{{/* A component's image tag: its own, else global.imageTag. Call with (dict "root" $ "c" <component values>). */}}
{{- define "rhesis.imageTag" -}}
{{- .c.image.tag | default .root.Values.global.imageTag | default .root.Chart.AppVersion -}}
{{- end }}

{{/* The image pull Secrets of every pod, as a JSON list: rhesis-registry when the chart makes it, then global.imagePullSecrets. */}}
{{- define "rhesis.pullSecrets" -}}
{{- $names := list -}}
{{- if .Values.global.imageCredentials.username }}{{ $names = append $names "rhesis-registry" }}{{ end -}}
{{- toJson (concat $names .Values.global.imagePullSecrets) -}}
{{- end }}

{{/* The .dockerconfigjson of rhesis-registry. */}}
{{- define "rhesis.dockerConfig" -}}
{{- $c := .Values.global.imageCredentials -}}
{{- $pw := .Values.secrets.registryPassword -}}
{{- toJson (dict "auths" (dict $c.registry (dict "username" $c.username "password" $pw "auth" (printf "%s:%s" $c.username $pw | b64enc)))) -}}
{{- end }}

{{/* BACKEND_ENV, WORKER_ENV and FRONTEND_ENV of the environment. */}}
{{- define "rhesis.appEnv" -}}
{{- if eq .Values.global.environment "prod" }}production{{ else }}{{ .Values.global.environment }}{{ end -}}
{{- end }}

{{/* The browser URLs: as set, else from the ingress hosts (https with TLS). Call with (dict "root" $ "which" "frontend"|"api"). */}}
{{- define "rhesis.browserURL" -}}
{{- $g := .root.Values.global -}}
{{- $in := .root.Values.ingress -}}
{{- $set := ternary $g.frontendUrl $g.apiBaseUrl (eq .which "frontend") -}}
{{- if or $set (not $in.enabled) (not $in.host) -}}
{{- $set -}}
{{- else -}}
{{- $scheme := ternary "https" "http" (or (ne $in.tlsSecret "") (ne $in.clusterIssuer "")) -}}
{{- if eq .which "frontend" -}}
{{- printf "%s://%s" $scheme $in.host -}}
{{- else if $in.apiPath -}}
{{- printf "%s://%s%s" $scheme $in.host $in.apiPath -}}
{{- else -}}
{{- printf "%s://%s" $scheme (include "rhesis.apiHost" .root) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The backend API's own host: ingress.apiHost, else api.<host> unless apiPath is used. */}}
{{- define "rhesis.apiHost" -}}
{{- $in := .Values.ingress -}}
{{- if $in.apiHost }}{{ $in.apiHost }}{{ else if not $in.apiPath }}api.{{ $in.host }}{{ end -}}
{{- end }}

{{/*
"true" when the application runs under a role of its own (rhesis-app) instead
of the database's owner (rhesis-user, a superuser that bypasses row-level
security): with the in-cluster database. The backend's prepare-database init
container sets it up; migrations run as the owner.
*/}}
{{- define "rhesis.appRole" -}}
{{- if and .Values.database.enabled (not .Values.database.external.host) .Values.backend.enabled }}true{{ end -}}
{{- end }}

{{/* The owner's name and password: the migration Job and prepare-database get them, never the shared ConfigMap (the app's settings refuse ADMIN_DB_USER without ADMIN_DB_PASS). */}}
{{- define "rhesis.ownerEnv" -}}
{{- if and .Values.database.enabled (not .Values.database.external.host) -}}
{{- toJson (list (dict "name" "ADMIN_DB_USER" "value" "rhesis-user") (dict "name" "ADMIN_DB_PASS" "secretKey" "ADMIN_DB_PASS")) -}}
{{- else -}}
[]
{{- end -}}
{{- end }}

{{/* The database the applications use, as JSON: in-cluster or external. */}}
{{- define "rhesis.database" -}}
{{- $e := .Values.database.external -}}
{{- if $e.host -}}
{{- toJson (dict "host" $e.host "port" (toString $e.port) "database" $e.database "user" $e.user "sslMode" $e.sslMode) -}}
{{- else -}}
{{- toJson (dict "host" "postgres" "port" "5432" "database" "rhesis-db" "user" "rhesis-user" "sslMode" "") -}}
{{- end -}}
{{- end }}

{{/* The ConfigMap's data, as JSON (also digested into pod annotations). */}}
{{- define "rhesis.configData" -}}
{{- $g := .Values.global -}}
{{- $env := include "rhesis.appEnv" . -}}
{{- $db := include "rhesis.database" . | fromJson -}}
{{- $r := .Values.redis.external -}}
{{- $frontendUrl := include "rhesis.browserURL" (dict "root" . "which" "frontend") -}}
{{- $d := dict
  "DB_HOST" $db.host
  "DB_PORT" $db.port
  "DB_NAME" $db.database
  "DB_DRIVER" .Values.database.type
  "APP_DB_USER" (ternary "rhesis-app" $db.user (eq (include "rhesis.appRole" .) "true"))
  "REDIS_HOST" ($r.host | default "redis")
  "REDIS_PORT" (ternary (toString $r.port) "6379" (ne $r.host ""))
  "BACKEND_ENV" $env
  "WORKER_ENV" $env
  "FRONTEND_ENV" $env
  "LOG_LEVEL" $g.logLevel
  "FRONTEND_URL" $frontendUrl
  "NEXTAUTH_URL" $frontendUrl
  "API_BASE_URL" (include "rhesis.browserURL" (dict "root" . "which" "api"))
  "BACKEND_URL" "http://backend:8080"
  "CELERY_WORKER_CONCURRENCY" (toString .Values.worker.concurrency)
  "CELERY_WORKER_PREFETCH_MULTIPLIER" (toString .Values.worker.prefetchMultiplier)
  "NEXT_TELEMETRY_DISABLED" "1" -}}
{{- with $db.sslMode }}{{ $_ := set $d "PGSSLMODE" . }}{{ end -}}
{{- if .Values.storage.uri }}{{ $_ := set $d "STORAGE_SERVICE_URI" .Values.storage.uri }}{{ else }}{{ $_ := set $d "IMPORT_SESSION_DIR" "/app/storage/import-sessions" }}{{ end -}}
{{- toJson $d -}}
{{- end }}

{{/* Broker URL for Redis database .db, the password query-escaped (%20 for spaces); rediss:// to an external Redis over TLS. */}}
{{- define "rhesis.redisURL" -}}
{{- $e := .external -}}
{{- if $e.host -}}
{{- printf "%s://:%s@%s:%v/%d%s" (ternary "rediss" "redis" $e.tls) (.password | urlquery | replace "+" "%20") $e.host $e.port (int .db) (ternary "?ssl_cert_reqs=required" "" $e.tls) -}}
{{- else -}}
{{- printf "redis://:%s@redis:6379/%d" (.password | urlquery | replace "+" "%20") (int .db) -}}
{{- end -}}
{{- end }}

{{/* The Secret's data, as JSON: required secrets, optional ones, broker URLs. */}}
{{- define "rhesis.secretData" -}}
{{- $s := .Values.secrets -}}
{{- $d := dict -}}
{{- range $k, $v := $s.extra }}{{ $_ := set $d $k (toString $v) }}{{ end -}}
{{- $_ := set $d "SESSION_SECRET_KEY" $s.sessionSecretKey -}}
{{- $_ := set $d "JWT_SECRET_KEY" $s.jwtSecretKey -}}
{{- $_ := set $d "NEXTAUTH_SECRET" $s.nextauthSecret -}}
{{- $_ := set $d "DB_ENCRYPTION_KEY" $s.dbEncryptionKey -}}
{{- $_ := set $d "APP_DB_PASS" (ternary $s.dbAppPassword $s.dbPassword (eq (include "rhesis.appRole" .) "true")) -}}
{{- if and .Values.database.enabled (not .Values.database.external.host) }}{{ $_ := set $d "ADMIN_DB_PASS" $s.dbPassword }}{{ end -}}
{{- $_ := set $d "REDIS_PASSWORD" $s.redisPassword -}}
{{- $_ := set $d "AUDIT_HASH_KEY" $s.auditHashKey -}}
{{- $_ := set $d "BROKER_URL" (include "rhesis.redisURL" (dict "password" $s.redisPassword "db" 0 "external" .Values.redis.external)) -}}
{{- $_ := set $d "CELERY_RESULT_BACKEND" (include "rhesis.redisURL" (dict "password" $s.redisPassword "db" 1 "external" .Values.redis.external)) -}}
{{- toJson $d -}}
{{- end }}

{{/* sha256 of a map's sorted "key=value\n" lines: rolls the pods when the configuration changes. */}}
{{- define "rhesis.checksum" -}}
{{- $m := . -}}
{{- $s := "" -}}
{{- range $k := keys $m | sortAlpha }}{{ $s = printf "%s%s=%s\n" $s $k (index $m $k) }}{{ end -}}
{{- $s | sha256sum -}}
{{- end }}

{{/*
Checks what the schema cannot express, all at once: the environment's
required settings. Rendered by configmap.yaml, which every install has.
*/}}
{{- define "rhesis.validate" -}}
{{- $v := .Values -}}
{{- $problems := list -}}
{{- if ne $v.global.environment "local" -}}
  {{- if and $v.ingress.enabled (not $v.ingress.host) -}}
    {{- $problems = append $problems (printf "ingress.host is required in %s while the ingress is on: the frontend's host (--set ingress.host=rhesis.example.com), from which the URLs follow" $v.global.environment) -}}
  {{- else -}}
  {{- range $k := list "frontendUrl" "apiBaseUrl" -}}
    {{- if not (include "rhesis.browserURL" (dict "root" $ "which" (ternary "frontend" "api" (eq $k "frontendUrl")))) -}}
      {{- $problems = append $problems (printf "global.%s is required in %s: the https URL browsers use (--set global.%s=https://...), or turn on the ingress" $k $v.global.environment $k) -}}
    {{- end -}}
  {{- end -}}
  {{- end -}}
  {{- if not $v.secrets.existingSecret -}}
    {{- range $k := list "sessionSecretKey" "jwtSecretKey" "nextauthSecret" "dbEncryptionKey" "dbPassword" "dbAppPassword" "redisPassword" "auditHashKey" -}}
      {{- if and (not (index $v.secrets $k)) (or (ne $k "dbAppPassword") (include "rhesis.appRole" $)) -}}
        {{- $gen := ternary "$(openssl rand -base64 32 | tr '+/' '-_')" "$(openssl rand -hex 32)" (eq $k "dbEncryptionKey") -}}
        {{- $problems = append $problems (printf "secrets.%s is required in %s (or set secrets.existingSecret): --set secrets.%s=\"%s\"" $k $v.global.environment $k $gen) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $images := dict "frontend" $v.frontend "backend" $v.backend "worker" $v.worker "database.postgresql" $v.database.postgresql "redis" $v.redis "migrations" $v.migrations -}}
{{- $enabled := dict "frontend" $v.frontend.enabled "backend" $v.backend.enabled "worker" $v.worker.enabled "database.postgresql" (and $v.database.enabled (not $v.database.external.host)) "redis" (and $v.redis.enabled (not $v.redis.external.host)) "migrations" (and $v.backend.enabled $v.migrations.enabled) -}}
{{- $tagProblems := dict -}}
{{- range $name := keys $images | sortAlpha -}}
  {{- $c := index $images $name -}}
  {{- if and (index $enabled $name) (ne $v.global.environment "local") -}}
    {{- $where := ternary (printf "%s.image.tag" $name) "global.imageTag" (ne $c.image.tag "") -}}
    {{- $tag := include "rhesis.imageTag" (dict "root" $ "c" $c) -}}
    {{- if not $tag -}}
      {{- $_ := set $tagProblems $where (printf "%s is required in %s: the release or commit to deploy (--set %s=%s)" $where $v.global.environment $where $.Chart.AppVersion) -}}
    {{- else if eq $tag "latest" -}}
      {{- $_ := set $tagProblems $where (printf "%s=latest is refused in %s: latest names whatever was pushed last, so a deployment could not be repeated or rolled back (--set %s=%s)" $where $v.global.environment $where $.Chart.AppVersion) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $k := keys $tagProblems | sortAlpha }}{{ $problems = append $problems (index $tagProblems $k) }}{{ end -}}
{{- if and (eq $v.global.environment "prod") $v.ingress.enabled (not $v.ingress.tlsSecret) (not $v.ingress.clusterIssuer) -}}
  {{- $problems = append $problems "ingress.tlsSecret or ingress.clusterIssuer is required in prod: browsers would send session cookies in clear" -}}
{{- end -}}
{{- if and $v.backup.enabled $v.database.external.host -}}
  {{- $problems = append $problems "backup.enabled backs up the in-cluster database; an external one is backed up by its provider: --set backup.enabled=false" -}}
{{- end -}}
{{- if and (not $v.storage.uri) (eq $v.storage.accessMode "ReadWriteMany") (not $v.storage.storageClass) -}}
  {{- $problems = append $problems "storage.storageClass is required with storage.accessMode=ReadWriteMany: the default classes of GKE, EKS and AKS cannot provision it and backend and worker would stay Pending; name a class that can (--set storage.storageClass=<Filestore, EFS, Azure Files, CephFS or NFS class>), or use object storage (--set storage.uri=s3://<bucket>/rhesis)" -}}
{{- end -}}
{{- if and $v.ingress.apiHost $v.ingress.apiPath -}}
  {{- $problems = append $problems "ingress.apiHost and ingress.apiPath exclude each other" -}}
{{- end -}}
{{- $creds := $v.global.imageCredentials -}}
{{- if and $creds.username (or (not $creds.registry) (not $v.secrets.registryPassword)) -}}
  {{- $problems = append $problems "global.imageCredentials.username needs global.imageCredentials.registry and secrets.registryPassword" -}}
{{- else if and (not $creds.username) (or $creds.registry $v.secrets.registryPassword) -}}
  {{- $problems = append $problems "global.imageCredentials.registry and secrets.registryPassword need global.imageCredentials.username, the user to log in as" -}}
{{- end -}}
{{- if and (eq $v.global.environment "prod") $v.database.enabled (not $v.database.postgresql.persistence.enabled) -}}
  {{- $problems = append $problems "database.postgresql.persistence.enabled must be true in prod: without a volume the database is lost with its pod" -}}
{{- end -}}
{{- range $app := list "backend" "worker" -}}
  {{- if (index $v $app).enabled -}}
    {{- if and (not $v.database.enabled) (not $v.database.external.host) -}}
      {{- $problems = append $problems (printf "database.enabled must be true while %s.enabled is true" $app) -}}
    {{- end -}}
    {{- if and (not $v.redis.enabled) (not $v.redis.external.host) -}}
      {{- $problems = append $problems (printf "redis.enabled must be true while %s.enabled is true" $app) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if $problems -}}
  {{- fail (printf "\ninvalid values (%d):\n  - %s" (len $problems) (join "\n  - " $problems)) -}}
{{- end -}}
{{- end }}

{{/* One probe: HTTP GET on .path, a command (.exec), or TCP when both are empty, on the named .port. */}}
{{- define "rhesis.probe" -}}
{{- if .path }}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
{{- else if .exec }}
exec:
  command:
    {{- toYaml .exec | nindent 4 }}
{{- else }}
tcpSocket:
  port: {{ .port }}
{{- end }}
periodSeconds: {{ .period }}
timeoutSeconds: 5
failureThreshold: {{ .failure }}
{{- end }}

{{/* A container's resources, ephemeral storage included. Call with the component's resources. */}}
{{- define "rhesis.resources" -}}
requests:
  cpu: {{ .requests.cpu | quote }}
  memory: {{ .requests.memory | quote }}
  ephemeral-storage: {{ .requests.ephemeralStorage | quote }}
limits:
  cpu: {{ .limits.cpu | quote }}
  memory: {{ .limits.memory | quote }}
  ephemeral-storage: {{ .limits.ephemeralStorage | quote }}
{{- end }}

{{/* The restricted container security context. Call with (dict "runAs" ... "readOnly" bool). */}}
{{- define "rhesis.containerSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .runAs.user }}
runAsGroup: {{ .runAs.group }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnly }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod-level settings every pod shares. Call with (dict "root" $ "sa" name "runAs" ...). */}}
{{- define "rhesis.podCommon" -}}
serviceAccountName: {{ .sa }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .runAs.user }}
  runAsGroup: {{ .runAs.group }}
  fsGroup: {{ .runAs.fsGroup }}
  seccompProfile:
    type: RuntimeDefault
{{- with include "rhesis.pullSecrets" .root | fromJsonArray }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Env entries: literals, Secret keys or ConfigMap keys. Call with (dict "root" $ "env" list). */}}
{{- define "rhesis.env" -}}
{{- $root := .root -}}
{{- range .env }}
- name: {{ .name }}
  {{- if .secretKey }}
  valueFrom:
    secretKeyRef:
      name: {{ include "rhesis.secretName" $root }}
      key: {{ .secretKey }}
  {{- else if .configMapKey }}
  valueFrom:
    configMapKeyRef:
      name: rhesis-config
      key: {{ .configMapKey }}
  {{- else }}
  value: {{ .value | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Volumes and their mounts. Call with a list of dicts (name, mount, claim; claim "" = emptyDir); "mounts" or "volumes". */}}
{{- define "rhesis.volumes" -}}
{{- range .list }}
{{- if eq $.what "mounts" }}
- name: {{ .name }}
  mountPath: {{ .mount }}
  {{- if .readOnly }}
  readOnly: true
  {{- end }}
{{- else }}
- name: {{ .name }}
  {{- if .claim }}
  persistentVolumeClaim:
    claimName: {{ .claim }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
kube-score checks a workload is exempt from, with the reason. Call with (dict "runAs" ... "readOnly"
bool "policy" pullPolicy "tag" tag).
*/}}
{{- define "rhesis.kubeScore" -}}
{{- $ig := dict "container-security-context-user-group-id" (printf "runs as its image's own user %v:%v, which owns the image's files" .runAs.user .runAs.group) -}}
{{- if not .readOnly }}{{ $_ := set $ig "container-security-context-readonlyrootfilesystem" "the Rhesis application images write inside their own filesystem (caches, temporary files)" }}{{ end -}}
{{- if ne .policy "Always" }}{{ $_ := set $ig "container-image-pull-policy" "tags name releases (latest is refused outside local) and a rebuilt image rolls the pods through its digest annotation" }}{{ end -}}
{{- if eq .tag "latest" }}{{ $_ := set $ig "container-image-tag" "local development images are tagged latest; staging and prod refuse it" }}{{ end -}}
{{- $checks := keys $ig | sortAlpha -}}
{{- $why := list -}}
{{- range $checks }}{{ $why = append $why (printf "%s: %s" . (index $ig .)) }}{{ end -}}
kube-score/ignore: {{ join "," $checks | quote }}
rhesis.dev/kube-score-why: {{ join "; " $why | quote }}
{{- end }}

{{/* A component's ServiceAccount: no API token, no role. Call with (dict "root" $ "name" .. "role" .. "annotations" map). */}}
{{- define "rhesis.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}

{{/*
The building block every component uses: a ServiceAccount, a Deployment and
its Service, plus its HorizontalPodAutoscaler and PodDisruptionBudget.
Arguments (a dict): root, name, role, c (the component's values), port,
portName, env (list of dicts: name with value, secretKey or configMapKey),
envFrom, runAs (user, group, fsGroup), startup (or nil), readiness, liveness
(probe dicts), volumes (list of dicts: name, mount, claim), readOnly,
sidecar (or nil: name, image, portName, port, env), recreate, command, args.
*/}}
{{- define "rhesis.workload" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $tag := include "rhesis.imageTag" (dict "root" $root "c" $c) -}}
{{- $policy := $c.image.pullPolicy | default $root.Values.global.imagePullPolicy -}}
{{- $volumes := .volumes | default list -}}
{{- if .readOnly }}{{ $volumes = append $volumes (dict "name" "tmp" "mount" "/tmp" "claim" "") }}{{ end -}}
{{- /* The app container's variables, its extraEnv last; prepare-database gets the same. */}}
{{- $appEnv := concat (.env | default list) list -}}
{{- range $k := keys $c.extraEnv | sortAlpha }}{{ $appEnv = append $appEnv (dict "name" $k "value" (index $c.extraEnv $k | toString)) }}{{ end -}}
{{ include "rhesis.serviceAccount" (dict "root" $root "name" .name "role" .role "annotations" $c.serviceAccount.annotations) }}
---
{{- with $c.serviceAccount.rules }}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $.name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" $ | nindent 4 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $.name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" $ | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $.name }}
subjects:
  - kind: ServiceAccount
    name: {{ $.name }}
    namespace: {{ $root.Release.Namespace }}
---
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
  annotations:
    {{- include "rhesis.kubeScore" (dict "runAs" .runAs "readOnly" (.readOnly | default false) "policy" $policy "tag" $tag) | nindent 4 }}
spec:
  {{- if not ($c.autoscaling).enabled }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "rhesis.selectorLabels" . | nindent 6 }}
  strategy:
    {{- if .recreate }}
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
    {{- end }}
  template:
    metadata:
      labels:
        {{- include "rhesis.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include "rhesis.checksum" (include "rhesis.configData" $root | fromJson) }}
        {{- if not $root.Values.secrets.existingSecret }}
        checksum/secret: {{ include "rhesis.checksum" (include "rhesis.secretData" $root | fromJson) }}
        {{- end }}
        {{- with $c.image.digest }}
        rhesis.dev/image-digest: {{ . | quote }}
        {{- end }}
    spec:
      {{- include "rhesis.podCommon" (dict "root" $root "sa" .name "runAs" .runAs) | nindent 6 }}
      {{- if .prepareDatabase }}
      {{- /* The same image and wiring as the app, plus prepareEnv: set up its database role, then wait for the migrations. */}}
      initContainers:
        - name: prepare-database
          image: {{ printf "%s:%s" $c.image.repository $tag | quote }}
          imagePullPolicy: {{ $policy }}
          command:
            - sh
            - -c
            - {{ $root.Files.Get "files/prepare-database.sh" | quote }}
          envFrom:
            - configMapRef:
                name: rhesis-config
          env:
            {{- include "rhesis.env" (dict "root" $root "env" (concat $appEnv (.prepareEnv | default list))) | nindent 12 }}
          resources:
            {{- include "rhesis.resources" $c.resources | nindent 12 }}
          securityContext:
            {{- include "rhesis.containerSecurity" (dict "runAs" .runAs "readOnly" (.readOnly | default false)) | nindent 12 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ printf "%s:%s" $c.image.repository $tag | quote }}
          imagePullPolicy: {{ $policy }}
          {{- with .command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          {{- if .envFrom }}
          envFrom:
            - configMapRef:
                name: rhesis-config
          {{- end }}
          env:
            {{- include "rhesis.env" (dict "root" $root "env" $appEnv) | nindent 12 }}
          resources:
            {{- include "rhesis.resources" $c.resources | nindent 12 }}
          {{- with .startup }}
          startupProbe:
            {{- include "rhesis.probe" (merge (dict "port" $.portName) .) | trim | nindent 12 }}
          {{- end }}
          readinessProbe:
            {{- include "rhesis.probe" (merge (dict "port" .portName) .readiness) | trim | nindent 12 }}
          livenessProbe:
            {{- include "rhesis.probe" (merge (dict "port" .portName) .liveness) | trim | nindent 12 }}
          {{- with $volumes }}
          volumeMounts:
            {{- include "rhesis.volumes" (dict "list" . "what" "mounts") | nindent 12 }}
          {{- end }}
          securityContext:
            {{- include "rhesis.containerSecurity" (dict "runAs" .runAs "readOnly" (.readOnly | default false)) | nindent 12 }}
        {{- with .sidecar }}
        - name: {{ .name }}
          image: {{ .image | quote }}
          imagePullPolicy: IfNotPresent
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          env:
            {{- include "rhesis.env" (dict "root" $root "env" .env) | nindent 12 }}
          resources:
            {{- include "rhesis.resources" (dict "requests" (dict "cpu" "50m" "memory" "64Mi" "ephemeralStorage" "64Mi") "limits" (dict "cpu" "200m" "memory" "128Mi" "ephemeralStorage" "256Mi")) | nindent 12 }}
          securityContext:
            {{- include "rhesis.containerSecurity" (dict "runAs" $.runAs "readOnly" true) | nindent 12 }}
        {{- end }}
      {{- with $volumes }}
      volumes:
        {{- include "rhesis.volumes" (dict "list" . "what" "volumes") | nindent 8 }}
      {{- end }}
      {{- if $root.Values.global.spreadAcrossNodes }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "rhesis.selectorLabels" . | nindent 14 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "rhesis.selectorLabels" . | nindent 4 }}
  ports:
    - name: {{ .portName }}
      port: {{ .port }}
      targetPort: {{ .portName }}
      protocol: TCP
    {{- with .sidecar }}
    - name: {{ .portName }}
      port: {{ .port }}
      targetPort: {{ .portName }}
      protocol: TCP
    {{- end }}
{{- $a := $c.autoscaling | default dict -}}
{{- if $a.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilization }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ $a.targetMemoryUtilization }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ $a.scaleDownStabilizationSeconds }}
{{- end }}
{{- $min := $c.replicas -}}
{{- if $a.enabled }}{{ $min = $a.minReplicas }}{{ end -}}
{{- if gt (int $min) 1 }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "rhesis.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* A volume claim. Arguments: root, name, role, claim, size, storageClass, accessMode, keep. */}}
{{- define "rhesis.claim" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .claim }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
  {{- if .keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
spec:
  accessModes: [{{ .accessMode | default "ReadWriteOnce" }}]
  resources:
    requests:
      storage: {{ .size | quote }}
  {{- with .storageClass }}
  storageClassName: {{ . }}
  {{- end }}
{{- end }}

{{/* The backend's and worker's secret variables, as a JSON list of env dicts: the required ones, then the optional ones sorted. */}}
{{- define "rhesis.pythonSecrets" -}}
{{- $env := list -}}
{{- range $k := list "SESSION_SECRET_KEY" "JWT_SECRET_KEY" "DB_ENCRYPTION_KEY" "APP_DB_PASS" "REDIS_PASSWORD" "BROKER_URL" "CELERY_RESULT_BACKEND" "AUDIT_HASH_KEY" -}}
{{- $env = append $env (dict "name" $k "secretKey" $k) -}}
{{- end -}}
{{- range $k := keys .Values.secrets.extra | sortAlpha -}}
{{- $env = append $env (dict "name" $k "secretKey" $k) -}}
{{- end -}}
{{- toJson $env -}}
{{- end }}

{{/* The shared /app/storage mount of backend and worker, as a JSON list; empty with object storage. */}}
{{- define "rhesis.storageVolumes" -}}
{{- if .Values.storage.uri -}}
[]
{{- else -}}
{{- toJson (list (dict "name" "storage" "mount" "/app/storage" "claim" "app-storage")) -}}
{{- end -}}
{{- end }}

{{/* NetworkPolicy peers: a component's pods (app), a namespace, the cluster DNS, or an address block. */}}
{{- define "rhesis.policyPeers" -}}
{{- $root := .root -}}
{{- range .peers }}
{{- if .app }}
- podSelector:
    matchLabels:
      {{- include "rhesis.selectorLabels" (dict "root" $root "name" .app) | nindent 6 }}
{{- else if .namespace }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .namespace }}
{{- else if .dns }}
- namespaceSelector: {}
  podSelector:
    matchLabels:
      k8s-app: kube-dns
{{- else }}
- ipBlock:
    cidr: {{ .cidr }}
    {{- with .except }}
    except: {{ toJson . }}
    {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* NetworkPolicy ports (TCP unless a protocol is given). */}}
{{- define "rhesis.policyPorts" -}}
{{- range . }}
- port: {{ .port }}
  protocol: {{ .protocol | default "TCP" }}
{{- end }}
{{- end }}
