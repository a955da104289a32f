{{/*
The objects every service has, written once: its ServiceAccount (and Role),
its Service, its autoscaler and disruption budget, its volume claims.
*/}}

{{/* A component's ServiceAccount (no API token), and its Role and RoleBinding when it is given rules. Call with (dict "root" $ "name" .. "role" .. "sa" <serviceAccount values>). */}}
{{- define "rhesis.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "rhesis.metadata" . | nindent 2 }}
  {{- with .sa.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- with .sa.rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  {{- include "rhesis.metadata" $ | nindent 2 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  {{- include "rhesis.metadata" $ | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "rhesis.name" (list $.root $.name) }}
subjects:
  - kind: ServiceAccount
    name: {{ include "rhesis.name" (list $.root $.name) }}
    namespace: {{ $.root.Release.Namespace }}
{{- end }}
{{- end }}

{{/* A component's Service. Call with (dict "root" $ "name" .. "role" .. "ports" (list (dict "name" .. "port" ..) ...) "annotations" <map>). */}}
{{- define "rhesis.service" -}}
apiVersion: v1
kind: Service
metadata:
  {{- include "rhesis.metadata" . | nindent 2 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "rhesis.selectorLabels" . | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
{{- end }}

{{/* A component's HorizontalPodAutoscaler when on (unless .keda scales it), and its PodDisruptionBudget when more than one pod runs. Call with (dict "root" $ "name" .. "role" .. "c" <component values> "keda" bool). */}}
{{- define "rhesis.scaling" -}}
{{- $a := .c.autoscaling | default dict }}
{{- if and $a.enabled (not .keda) }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  {{- include "rhesis.metadata" . | nindent 2 }}
  {{- with include "rhesis.syncWave" .role }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "rhesis.name" (list .root .name) }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    {{- range $resource, $target := dict "cpu" $a.targetCPUUtilization "memory" $a.targetMemoryUtilization }}
    - type: Resource
      resource:
        name: {{ $resource }}
        target:
          type: Utilization
          averageUtilization: {{ $target }}
    {{- end }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ $a.scaleDownStabilizationSeconds }}
{{- end }}
{{- $min := .c.replicas }}{{ if $a.enabled }}{{ $min = $a.minReplicas }}{{ end }}
{{- if gt (int $min) 1 }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "rhesis.metadata" . | nindent 2 }}
  {{- with include "rhesis.syncWave" .role }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "rhesis.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* A volume claim, kept on uninstall with .keep. Call with (dict "root" $ "name" .. "role" .. "object" claim "size" .. "storageClass" .. "accessMode" .. "keep" bool). */}}
{{- define "rhesis.claim" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  {{- include "rhesis.metadata" . | nindent 2 }}
  {{- $wave := include "rhesis.syncWave" .role }}
  {{- if or .keep $wave }}
  annotations:
    {{- if .keep }}
    helm.sh/resource-policy: keep
    {{- end }}
    {{- with $wave }}
    {{- . | nindent 4 }}
    {{- end }}
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
