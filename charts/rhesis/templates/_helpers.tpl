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
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The Secret pods read: the chart's own, or the one named by secrets.existingSecret. */}}
{{- define "rhesis.secretName" -}}
{{- .Values.secrets.existingSecret | default "rhesis-secrets" -}}
{{- end }}

{{/* A component's image tag: its own, else global.imageTag. Call with (dict "root" $ "c" <component values>). */}}
{{- define "rhesis.imageTag" -}}
{{- .c.image.tag | default .root.Values.global.imageTag -}}
{{- end }}

{{/* The image pull Secrets of every pod, as a JSON list: rhesis-registry when the chart makes it, then global.imagePullSecrets. */}}
{{- define "rhesis.pullSecrets" -}}
{{- $names := list -}}
{{- if .Values.global.imageCredentials.username }}{{ $names = append $names "rhesis-registry" }}{{ end -}}
{{- toJson (concat $names .Values.global.imagePullSecrets) -}}
{{- end }}

{{/* The .dockerconfigjson of rhesis-registry: the same JSON the Pulumi program writes. */}}
{{- define "rhesis.dockerConfig" -}}
{{- $c := .Values.global.imageCredentials -}}
{{- $pw := .Values.secrets.registryPassword -}}
{{- toJson (dict "auths" (dict $c.registry (dict "username" $c.username "password" $pw "auth" (printf "%s:%s" $c.username $pw | b64enc)))) -}}
{{- end }}

{{/* BACKEND_ENV, WORKER_ENV and FRONTEND_ENV of the environment. */}}
{{- define "rhesis.appEnv" -}}
{{- if eq .Values.global.environment "prod" }}production{{ else }}{{ .Values.global.environment }}{{ end -}}
{{- end }}

{{/* The ConfigMap's data, as JSON (also digested into pod annotations). */}}
{{- define "rhesis.configData" -}}
{{- $g := .Values.global -}}
{{- $env := include "rhesis.appEnv" . -}}
{{- toJson (dict
  "DB_HOST" "postgres"
  "DB_PORT" "5432"
  "DB_NAME" "rhesis-db"
  "DB_DRIVER" .Values.database.type
  "APP_DB_USER" "rhesis-user"
  "REDIS_HOST" "redis"
  "REDIS_PORT" "6379"
  "BACKEND_ENV" $env
  "WORKER_ENV" $env
  "FRONTEND_ENV" $env
  "LOG_LEVEL" $g.logLevel
  "FRONTEND_URL" $g.frontendUrl
  "NEXTAUTH_URL" $g.frontendUrl
  "API_BASE_URL" $g.apiBaseUrl
  "BACKEND_URL" "http://backend:8080"
  "CELERY_WORKER_CONCURRENCY" (toString .Values.worker.concurrency)
  "CELERY_WORKER_PREFETCH_MULTIPLIER" (toString .Values.worker.prefetchMultiplier)
  "NEXT_TELEMETRY_DISABLED" "1") -}}
{{- end }}

{{/* Broker URL for Redis database .db, the password query-escaped (%20 for spaces). */}}
{{- define "rhesis.redisURL" -}}
{{- printf "redis://:%s@redis:6379/%d" (.password | urlquery | replace "+" "%20") (int .db) -}}
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
{{- $_ := set $d "APP_DB_PASS" $s.dbPassword -}}
{{- $_ := set $d "REDIS_PASSWORD" $s.redisPassword -}}
{{- $_ := set $d "BROKER_URL" (include "rhesis.redisURL" (dict "password" $s.redisPassword "db" 0)) -}}
{{- $_ := set $d "CELERY_RESULT_BACKEND" (include "rhesis.redisURL" (dict "password" $s.redisPassword "db" 1)) -}}
{{- toJson $d -}}
{{- end }}

{{/* sha256 of a map's sorted "key=value\n" lines: the same digest the Pulumi program computes. */}}
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
  {{- range $k := list "frontendUrl" "apiBaseUrl" -}}
    {{- if not (index $v.global $k) -}}
      {{- $problems = append $problems (printf "global.%s is required in %s: the https URL browsers use (--set global.%s=https://...)" $k $v.global.environment $k) -}}
    {{- end -}}
  {{- end -}}
  {{- if not $v.secrets.existingSecret -}}
    {{- range $k := list "sessionSecretKey" "jwtSecretKey" "nextauthSecret" "dbEncryptionKey" "dbPassword" "redisPassword" -}}
      {{- if not (index $v.secrets $k) -}}
        {{- $gen := ternary "$(openssl rand -base64 32 | tr '+/' '-_')" "$(openssl rand -hex 32)" (eq $k "dbEncryptionKey") -}}
        {{- $problems = append $problems (printf "secrets.%s is required in %s (or set secrets.existingSecret): --set secrets.%s=\"%s\"" $k $v.global.environment $k $gen) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $images := dict "frontend" $v.frontend "backend" $v.backend "worker" $v.worker "database.postgresql" $v.database.postgresql "redis" $v.redis -}}
{{- $enabled := dict "frontend" $v.frontend.enabled "backend" $v.backend.enabled "worker" $v.worker.enabled "database.postgresql" $v.database.enabled "redis" $v.redis.enabled -}}
{{- $tagProblems := dict -}}
{{- range $name := keys $images | sortAlpha -}}
  {{- $c := index $images $name -}}
  {{- if and (index $enabled $name) (ne $v.global.environment "local") -}}
    {{- $where := ternary (printf "%s.image.tag" $name) "global.imageTag" (ne $c.image.tag "") -}}
    {{- $tag := include "rhesis.imageTag" (dict "root" $ "c" $c) -}}
    {{- if not $tag -}}
      {{- $_ := set $tagProblems $where (printf "%s is required in %s: the release or commit to deploy (--set %s=v1.2.3)" $where $v.global.environment $where) -}}
    {{- else if eq $tag "latest" -}}
      {{- $_ := set $tagProblems $where (printf "%s=latest is refused in %s: latest names whatever was pushed last, so a deployment could not be repeated or rolled back (--set %s=v1.2.3)" $where $v.global.environment $where) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $k := keys $tagProblems | sortAlpha }}{{ $problems = append $problems (index $tagProblems $k) }}{{ end -}}
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
    {{- if not $v.database.enabled -}}
      {{- $problems = append $problems (printf "database.enabled must be true while %s.enabled is true" $app) -}}
    {{- end -}}
    {{- if not $v.redis.enabled -}}
      {{- $problems = append $problems (printf "redis.enabled must be true while %s.enabled is true" $app) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if $problems -}}
  {{- fail (printf "\ninvalid values (%d):\n  - %s" (len $problems) (join "\n  - " $problems)) -}}
{{- end -}}
{{- end }}

{{/* One probe: HTTP GET on .path, or TCP when .path is empty, on the named .port. */}}
{{- define "rhesis.probe" -}}
{{- if .path }}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
{{- else }}
tcpSocket:
  port: {{ .port }}
{{- end }}
periodSeconds: {{ .period }}
timeoutSeconds: 5
failureThreshold: {{ .failure }}
{{- end }}

{{/*
The building block every component uses: a Deployment and its Service.
Arguments (a dict): root, name, role, c (the component's values), port,
portName, env (list of dicts: name with value, secretKey or configMapKey),
envFrom, runAs (user, group, fsGroup), startup (or nil), readiness, liveness
(probe dicts), volume (dict claim, mount; claim "" = emptyDir; or nil),
recreate, command, args.
*/}}
{{- define "rhesis.workload" -}}
{{- $root := .root -}}
{{- $c := .c -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
spec:
  replicas: {{ $c.replicas }}
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
      automountServiceAccountToken: false
      {{- with include "rhesis.pullSecrets" $root | fromJsonArray }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ .runAs.user }}
        runAsGroup: {{ .runAs.group }}
        fsGroup: {{ .runAs.fsGroup }}
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .name }}
          image: {{ printf "%s:%s" $c.image.repository (include "rhesis.imageTag" (dict "root" $root "c" $c)) | quote }}
          imagePullPolicy: {{ $c.image.pullPolicy | default $root.Values.global.imagePullPolicy }}
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
            {{- range $k := keys $c.extraEnv | sortAlpha }}
            - name: {{ $k }}
              value: {{ index $c.extraEnv $k | toString | quote }}
            {{- end }}
          resources:
            requests:
              cpu: {{ $c.resources.requests.cpu | quote }}
              memory: {{ $c.resources.requests.memory | quote }}
            limits:
              cpu: {{ $c.resources.limits.cpu | quote }}
              memory: {{ $c.resources.limits.memory | quote }}
          {{- with .startup }}
          startupProbe:
            {{- include "rhesis.probe" (merge (dict "port" $.portName) .) | trim | nindent 12 }}
          {{- end }}
          readinessProbe:
            {{- include "rhesis.probe" (merge (dict "port" .portName) .readiness) | trim | nindent 12 }}
          livenessProbe:
            {{- include "rhesis.probe" (merge (dict "port" .portName) .liveness) | trim | nindent 12 }}
          {{- with .volume }}
          volumeMounts:
            - name: data
              mountPath: {{ .mount }}
          {{- end }}
          securityContext:
            runAsNonRoot: true
            runAsUser: {{ .runAs.user }}
            runAsGroup: {{ .runAs.group }}
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
      {{- with .volume }}
      volumes:
        - name: data
          {{- if .claim }}
          persistentVolumeClaim:
            claimName: {{ .claim }}
          {{- else }}
          emptyDir: {}
          {{- end }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
  annotations:
    # Read by Pulumi only: readiness is awaited on the Deployment.
    pulumi.com/skipAwait: "true"
spec:
  type: ClusterIP
  selector:
    {{- include "rhesis.selectorLabels" . | nindent 4 }}
  ports:
    - name: {{ .portName }}
      port: {{ .port }}
      targetPort: {{ .portName }}
      protocol: TCP
{{- end }}

{{/* A store's volume claim. Arguments: root, name, role, claim, p (persistence values). */}}
{{- define "rhesis.claim" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .claim }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "rhesis.labels" . | nindent 4 }}
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: {{ .p.size | quote }}
  {{- with .p.storageClass }}
  storageClassName: {{ . }}
  {{- end }}
{{- end }}

{{/* The backend's and worker's secret variables, as a JSON list of env dicts: the required ones, then the optional ones sorted. */}}
{{- define "rhesis.pythonSecrets" -}}
{{- $env := list -}}
{{- range $k := list "SESSION_SECRET_KEY" "JWT_SECRET_KEY" "DB_ENCRYPTION_KEY" "APP_DB_PASS" "REDIS_PASSWORD" "BROKER_URL" "CELERY_RESULT_BACKEND" -}}
{{- $env = append $env (dict "name" $k "secretKey" $k) -}}
{{- end -}}
{{- range $k := keys .Values.secrets.extra | sortAlpha -}}
{{- $env = append $env (dict "name" $k "secretKey" $k) -}}
{{- end -}}
{{- toJson $env -}}
{{- end }}
