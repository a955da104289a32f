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
  {{- if not .root.Values.global.openshift }}
  runAsUser: {{ .runAs.user }}
  runAsGroup: {{ .runAs.group }}
  fsGroup: {{ .runAs.fsGroup }}
  {{- end }}
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

{{/* The restricted container security context, on a read-only root (writable paths are volumes: rhesis.scratchPaths); on OpenShift the platform assigns user and group. Call with (dict "root" $ "runAs" <runAs values>). */}}
{{- define "rhesis.containerSecurity" -}}
runAsNonRoot: true
{{- if not .root.Values.global.openshift }}
runAsUser: {{ .runAs.user }}
runAsGroup: {{ .runAs.group }}
{{- end }}
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
{{- $ig := dict "container-security-context-user-group-id" (ternary "OpenShift assigns the user and group from the namespace's range (global.openshift)" (printf "runs as its image's own user %v:%v, which owns the image's files" .runAs.user .runAs.group) .root.Values.global.openshift) -}}
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

{{/* A pod's labels: the component's, without helm.sh/chart, which changes with every chart version and would roll pods nothing else changed. Call like rhesis.labels. */}}
{{- define "rhesis.podLabels" -}}
{{- omit (include "rhesis.labels" . | fromYaml) "helm.sh/chart" | toYaml }}
{{- end }}

{{/* The entries of .from whose keys are in .keys, as YAML. */}}
{{- define "rhesis.pickKeys" -}}
{{- $out := dict }}
{{- range $k := .keys | default list }}{{ if hasKey $.from $k }}{{ $_ := set $out $k (index $.from $k) }}{{ end }}{{ end }}
{{- toYaml $out }}
{{- end }}

{{/*
A pod template's metadata: labels, the checksums that roll the pods when
what they read changes, a built image's digest, and the pod settings'
podLabels and podAnnotations. .reads, when given, names the keys the pod
reads (dict "config" (list ..) "secret" (list ..)): the checksums then cover
only those, so a store does not restart for a setting only the apps read.
Call with (dict "root" $ "name" .. "role" .. "digest" .. "pod" <settings> "reads" ..).
*/}}
{{- define "rhesis.podMetadata" -}}
labels:
  {{- include "rhesis.podLabels" . | nindent 2 }}
  {{- with .pod.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  {{- with .pod.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- $config := include "rhesis.configData" .root | fromYaml }}
  {{- $secret := include "rhesis.secretData" .root | fromYaml }}
  {{- with .reads }}
  {{- $config = include "rhesis.pickKeys" (dict "from" $config "keys" .config) | fromYaml }}
  {{- $secret = include "rhesis.pickKeys" (dict "from" $secret "keys" .secret) | fromYaml }}
  {{- end }}
  checksum/config: {{ include "rhesis.checksum" $config }}
  {{- if not (or .root.Values.secrets.existingSecret .root.Values.secrets.externalSecret.enabled) }}
  checksum/secret: {{ include "rhesis.checksum" $secret }}
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
  {{- with include "rhesis.caBundle.mount" .root }}
  volumeMounts:
    {{- . | trim | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "rhesis.containerSecurity" (dict "root" .root "runAs" .runAs) | nindent 4 }}
{{- end }}
