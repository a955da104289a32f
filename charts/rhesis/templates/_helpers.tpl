{{/*
Names, labels and the blocks several services share; each service's objects
are written in its own template. Object names are the ones users type (frontend,
backend, worker, postgres, redis, postgres-pvc) so the commands users already
type keep working; namePrefix goes before each of them and before every
in-cluster address, so two releases share a namespace. The release name is the
instance label. The shared
configuration is in _config.tpl, the objects every service has (account,
Service, autoscaler, budget, claim) in _objects.tpl, the checks of the values
in _validate.tpl.
*/}}

{{/* The name of an object of this release, and the in-cluster address of a Service: namePrefix, then the chart's own name. Call with (list $ "backend"). */}}
{{- define "rhesis.name" -}}
{{- (index . 0).Values.namePrefix }}{{ index . 1 -}}
{{- end }}

{{/* Selector labels of one component; never changed after install (app carries the prefix, so releases under one name stay apart). Call with (dict "root" $ "name" "backend"). */}}
{{- define "rhesis.selectorLabels" -}}
app: {{ include "rhesis.name" (list .root .name) }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* All labels of one component's objects; Helm's own label only when Helm installs them. Call with (dict "root" $ "name" "backend" "role" "backend"). */}}
{{- define "rhesis.labels" -}}
{{ include "rhesis.selectorLabels" . }}
app.kubernetes.io/component: {{ .role }}
app.kubernetes.io/part-of: rhesis
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- if eq .root.Release.Service "Helm" }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}
{{- end }}

{{/* The metadata of a component's object: name (.object, else the component's), namespace, labels. */}}
{{- define "rhesis.metadata" -}}
name: {{ include "rhesis.name" (list .root (.object | default .name)) }}
namespace: {{ .root.Release.Namespace }}
labels:
  {{- include "rhesis.labels" . | nindent 2 }}
{{- end }}

{{/*
Argo CD's sync wave of a role's objects (argocd.argoproj.io/sync-wave; Helm
ignores it). A wave starts once every object of the waves before it is
healthy: the stores, configuration and policies (wave 0, no annotation),
then the migration Job (1), which must complete before the applications and
their shared claim (2); the Ingress last (3: it is healthy only once a
controller gives it an address). Call with the role; empty for wave 0.
*/}}
{{- define "rhesis.syncWave" -}}
{{- with index (dict "migration" "1" "frontend" "2" "backend" "2" "worker" "2" "storage" "2" "ingress" "3") . -}}
argocd.argoproj.io/sync-wave: {{ . | quote }}
{{- end }}
{{- end }}

{{/* An image's tag: its own, else global.imageTag, else the chart's appVersion. Call with (dict "root" $ "image" <image values>). */}}
{{- define "rhesis.imageTag" -}}
{{- .image.tag | default .root.Values.global.imageTag | default .root.Chart.AppVersion -}}
{{- end }}

{{/* A container's image and pull policy. Call with (dict "root" $ "image" <image values>). */}}
{{- define "rhesis.containerImage" -}}
image: {{ printf "%s:%s" .image.repository (include "rhesis.imageTag" .) | quote }}
imagePullPolicy: {{ .image.pullPolicy | default .root.Values.global.imagePullPolicy }}
{{- end }}

{{/* What every pod shares: its account (no API token), the restricted security context, the pull Secrets. Call with (dict "root" $ "name" account "runAs" <runAs values>). */}}
{{- define "rhesis.podSpec" -}}
serviceAccountName: {{ include "rhesis.name" (list .root .name) }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .runAs.user }}
  runAsGroup: {{ .runAs.group }}
  fsGroup: {{ .runAs.fsGroup }}
  seccompProfile:
    type: RuntimeDefault
{{- $g := .root.Values.global }}
{{- if or $g.imageCredentials.username $g.imagePullSecrets }}
imagePullSecrets:
  {{- if $g.imageCredentials.username }}
  - name: {{ include "rhesis.name" (list .root "rhesis-registry") }}
  {{- end }}
  {{- range $g.imagePullSecrets }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The restricted container security context, on a read-only root (writable paths are volumes: rhesis.scratchPaths). Call with (dict "runAs" <runAs values>). */}}
{{- define "rhesis.containerSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .runAs.user }}
runAsGroup: {{ .runAs.group }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Where each application container writes (contract/rhesis-<release>.yaml,
writable). Its root filesystem is read-only and these paths are emptyDir
volumes, counted in its ephemeral-storage limit. home is the image user's
home, also passed as HOME.
*/}}
{{- define "rhesis.scratchPaths" -}}
backend: {tmp: /tmp, home: /home/rhesis-user}
worker: {tmp: /tmp, home: /home/rhesis-user}
frontend: {next-cache: /app/apps/frontend/.next/cache}
migrate: {tmp: /tmp}
{{- end }}

{{/* The scratch volumeMounts of a container. Call with its name (a key of rhesis.scratchPaths). */}}
{{- define "rhesis.scratchMounts" -}}
{{- $paths := index (include "rhesis.scratchPaths" . | fromYaml) . }}
{{- $mounts := list }}
{{- range $name := keys $paths | sortAlpha }}
{{- $mounts = append $mounts (dict "name" $name "mountPath" (index $paths $name)) }}
{{- end }}
{{- toYaml $mounts }}
{{- end }}

{{/* The scratch volumes of a pod. Call with its container's name. */}}
{{- define "rhesis.scratchVolumes" -}}
{{- $volumes := list }}
{{- range $name := keys (index (include "rhesis.scratchPaths" . | fromYaml) .) | sortAlpha }}
{{- $volumes = append $volumes (dict "name" $name "emptyDir" dict) }}
{{- end }}
{{- toYaml $volumes }}
{{- end }}

{{/* HOME for a container whose scratch paths include a home. Call with its name. */}}
{{- define "rhesis.homeEnv" -}}
{{- with (index (include "rhesis.scratchPaths" . | fromYaml) .).home }}
- name: HOME
  value: {{ . }}
{{- end }}
{{- end }}

{{/* A container's resources, ephemeral storage included. Call with the resources values. */}}
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

{{/* kube-score checks a workload is exempt from, with the reason. Call with (dict "root" $ "image" <image values> "runAs" <runAs values>). */}}
{{- define "rhesis.kubeScore" -}}
{{- $ig := dict "container-security-context-user-group-id" (printf "runs as its image's own user %v:%v, which owns the image's files" .runAs.user .runAs.group) -}}
{{- if ne (.image.pullPolicy | default .root.Values.global.imagePullPolicy) "Always" }}{{ $_ := set $ig "container-image-pull-policy" "tags name releases (latest is refused outside local) and a rebuilt image rolls the pods through its digest annotation" }}{{ end -}}
{{- if eq (include "rhesis.imageTag" .) "latest" }}{{ $_ := set $ig "container-image-tag" "local development images are tagged latest; staging and prod refuse it" }}{{ end -}}
{{- $why := list -}}
{{- range keys $ig | sortAlpha }}{{ $why = append $why (printf "%s: %s" . (index $ig .)) }}{{ end -}}
kube-score/ignore: {{ keys $ig | sortAlpha | join "," | quote }}
rhesis.dev/kube-score-why: {{ join "; " $why | quote }}
{{- end }}

{{/* A Deployment's spec up to its pod: replicas unless an autoscaler owns them, selector, rollout (Recreate for a store's single volume). Call with (dict "root" $ "name" .. "c" <component values> "recreate" bool). */}}
{{- define "rhesis.deploymentSpec" -}}
{{- if not (.c.autoscaling).enabled }}
replicas: {{ .c.replicas }}
{{- end }}
revisionHistoryLimit: 5
selector:
  matchLabels:
    {{- include "rhesis.selectorLabels" . | nindent 4 }}
strategy:
  {{- if .recreate }}
  type: Recreate
  {{- else }}
  type: RollingUpdate
  rollingUpdate:
    maxSurge: 1
    maxUnavailable: 0
  {{- end }}
{{- end }}

{{/* A pod template's metadata: labels, the checksums that roll the pods when the configuration changes, a built image's digest, and the pod settings' podLabels and podAnnotations. Call with (dict "root" $ "name" .. "role" .. "digest" .. "pod" <settings>). */}}
{{- define "rhesis.podMetadata" -}}
labels:
  {{- include "rhesis.labels" . | nindent 2 }}
  {{- with .pod.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  {{- with .pod.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  checksum/config: {{ include "rhesis.checksum" (include "rhesis.configData" .root | fromYaml) }}
  {{- if not (or .root.Values.secrets.existingSecret .root.Values.secrets.externalSecret.enabled) }}
  checksum/secret: {{ include "rhesis.checksum" (include "rhesis.secretData" .root | fromYaml) }}
  {{- end }}
  {{- with .digest }}
  rhesis.dev/image-digest: {{ . | quote }}
  {{- end }}
{{- end }}

{{/* Soft spread of a component's pods across nodes, when global.spreadAcrossNodes. Call with (dict "root" $ "name" ..). */}}
{{- define "rhesis.spread" -}}
{{- if .root.Values.global.spreadAcrossNodes }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "rhesis.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end }}

{{/* One variable from the Secret. Call with (dict "root" $ "name" VAR "key" KEY). */}}
{{- define "rhesis.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      {{- include "rhesis.secretRef" (dict "root" .root "key" (.key | default .name)) | nindent 6 }}
{{- end }}

{{/* The secret variables of backend, worker and migrations: the required ones, then secrets.extra sorted. */}}
{{- define "rhesis.pythonSecretEnv" -}}
{{- range $k := concat (list "SESSION_SECRET_KEY" "JWT_SECRET_KEY" "DB_ENCRYPTION_KEY" "APP_DB_PASS" "REDIS_PASSWORD" "BROKER_URL" "CELERY_RESULT_BACKEND" "AUDIT_HASH_KEY") (keys $.Values.secrets.extra | sortAlpha) }}
{{- if and (has $k (list "BROKER_URL" "CELERY_RESULT_BACKEND")) (include "rhesis.redisPasswordOutside" $) }}
{{- /* After REDIS_PASSWORD, which Kubernetes expands into it. */}}
- name: {{ $k }}
  value: {{ include "rhesis.redisURL" (dict "root" $ "db" (ternary 0 1 (eq $k "BROKER_URL"))) | quote }}
{{- else }}
{{ include "rhesis.secretEnv" (dict "root" $ "name" $k) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The in-cluster database owner's name and password, for who migrates or sets up roles; never in the ConfigMap (the app's settings refuse ADMIN_DB_USER without ADMIN_DB_PASS). */}}
{{- define "rhesis.ownerEnv" -}}
{{- if include "rhesis.inClusterDatabase" . }}
- name: ADMIN_DB_USER
  value: {{ include "rhesis.dbOwner" . }}
{{ include "rhesis.secretEnv" (dict "root" . "name" "ADMIN_DB_PASS") }}
{{- end }}
{{- end }}

{{/* Extra variables NAME: value, sorted. Call with the map. */}}
{{- define "rhesis.extraEnv" -}}
{{- range $k := keys . | sortAlpha }}
- name: {{ $k }}
  value: {{ index $ $k | toString | quote }}
{{- end }}
{{- end }}

{{/* The init container of backend and worker, in the app's image with the app's variables (.env, rendered) plus .prepareEnv: it sets up the app's database role, then waits for the migrations (files/prepare-database.sh). */}}
{{- define "rhesis.prepareDatabase" -}}
- name: prepare-database
  {{- include "rhesis.containerImage" . | nindent 2 }}
  command:
    - sh
    - -c
    - {{ .root.Files.Get "files/prepare-database.sh" | quote }}
  envFrom:
    - configMapRef:
        name: {{ include "rhesis.name" (list .root "rhesis-config") }}
  env:
    {{- .env | nindent 4 }}
    {{- .prepareEnv | nindent 4 }}
  resources:
    {{- include "rhesis.resources" .resources | nindent 4 }}
  securityContext:
    {{- include "rhesis.containerSecurity" (dict "runAs" .runAs) | nindent 4 }}
{{- end }}

{{/*
A component's pod settings (global.nodeSelector ... extraContainers): its
own value when not empty, else global's; podAnnotations, podLabels and
service.annotations merged over global's. Call with (dict "root" $ "c"
<component values>, or an empty dict for global's alone); read it with fromYaml.
*/}}
{{- define "rhesis.podSettings" -}}
{{- $g := .root.Values.global -}}
{{- $c := .c -}}
{{- $out := dict -}}
{{- range $k := list "nodeSelector" "tolerations" "affinity" "topologySpreadConstraints" "priorityClassName" "extraVolumes" "extraVolumeMounts" "extraEnvFrom" "initContainers" "extraContainers" -}}
{{- $_ := set $out $k (index $c $k | default (index $g $k)) -}}
{{- end -}}
{{- range $k := list "podAnnotations" "podLabels" -}}
{{- $_ := set $out $k (merge (deepCopy (index $c $k | default dict)) (index $g $k | default dict)) -}}
{{- end -}}
{{- $_ := set $out "serviceAnnotations" (merge (deepCopy (($c.service).annotations | default dict)) (($g.service).annotations | default dict)) -}}
{{- toYaml $out -}}
{{- end }}

{{/*
A pod spec as a workload's template writes it (.spec, YAML) with the pod
settings (.pod, from rhesis.podSettings) added: nodeSelector, tolerations,
priorityClassName, topology spread (replacing the chart's), affinity (the
chart's own terms kept), and, unless .job, the extra volumes, init
containers and containers, and the main (first) container's extra mounts
and envFrom. A name or mount path given twice, or a mount of no volume,
fails here, naming the key. Call with (dict "spec" <yaml> "pod" <settings>
"key" "backend" "job" bool).
*/}}
{{- define "rhesis.pod" -}}
{{- $s := .spec | fromYaml -}}
{{- $p := .pod -}}
{{- range $k := list "nodeSelector" "tolerations" "priorityClassName" -}}
{{- with index $p $k }}{{ $_ := set $s $k . }}{{ end -}}
{{- end -}}
{{- with $p.affinity }}{{ $_ := set $s "affinity" (merge (deepCopy ($s.affinity | default dict)) .) }}{{ end -}}
{{- if not .job -}}
{{- with $p.topologySpreadConstraints }}{{ $_ := set $s "topologySpreadConstraints" . }}{{ end -}}
{{- $volumes := concat ($s.volumes | default list) $p.extraVolumes -}}
{{- include "rhesis.unique" (dict "items" $volumes "field" "name" "key" (printf "%s.extraVolumes" .key)) -}}
{{- $init := concat ($s.initContainers | default list) $p.initContainers -}}
{{- $containers := concat $s.containers $p.extraContainers -}}
{{- include "rhesis.unique" (dict "items" (concat $init $containers) "field" "name" "key" (printf "%s.initContainers or %s.extraContainers" .key .key)) -}}
{{- $main := index $containers 0 -}}
{{- $mounts := concat ($main.volumeMounts | default list) $p.extraVolumeMounts -}}
{{- include "rhesis.unique" (dict "items" $mounts "field" "mountPath" "key" (printf "%s.extraVolumeMounts" .key)) -}}
{{- $names := list }}{{ range $volumes }}{{ $names = append $names .name }}{{ end -}}
{{- range $p.extraVolumeMounts }}{{ if not (has .name $names) }}{{ fail (printf "%s.extraVolumeMounts: %q mounts no volume of the pod; add it to extraVolumes" $.key .name) }}{{ end }}{{ end -}}
{{- $_ := set $main "volumeMounts" $mounts -}}
{{- with $p.extraEnvFrom }}{{ $_ := set $main "envFrom" (concat ($main.envFrom | default list) .) }}{{ end -}}
{{- $_ := set $s "volumes" $volumes -}}
{{- $_ := set $s "containers" $containers -}}
{{- with $init }}{{ $_ := set $s "initContainers" . }}{{ end -}}
{{- end -}}
{{- toYaml $s -}}
{{- end }}

{{/* Fails when two of .items have the same .field. Call with (dict "items" .. "field" "name" "key" <values key named in the error>). */}}
{{- define "rhesis.unique" -}}
{{- $seen := dict -}}
{{- range .items -}}
{{- $v := index . $.field | toString -}}
{{- if hasKey $seen $v }}{{ fail (printf "%s: the %s %q is already in the pod (the chart's own, or given twice); choose another" $.key $.field $v) }}{{ end -}}
{{- $_ := set $seen $v true -}}
{{- end -}}
{{- end }}

{{/* A Kubernetes quantity (500m, 2, 1.5Gi) as a number, to compare two; the schema has checked its form. */}}
{{- define "rhesis.quantity" -}}
{{- $q := toString . -}}
{{- $num := regexFind "^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?" $q -}}
{{- $scale := dict "" 1.0 "n" 1e-9 "u" 1e-6 "m" 1e-3 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- mulf (float64 $num) (get $scale (trimPrefix $num $q)) -}}
{{- end }}
