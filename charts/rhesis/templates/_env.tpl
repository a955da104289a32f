{{/*
The variables the chart's containers read from the Secret, and the extra
variables users add: one place for how a variable is written.
*/}}

{{/* One variable from the Secret. Call with (dict "root" $ "name" VAR "key" KEY). */}}
{{- define "rhesis.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      {{- include "rhesis.secretRef" (dict "root" .root "key" (.key | default .name)) | nindent 6 }}
{{- end }}

{{/* The secret variables of backend, worker and migrations: the required ones, the optional ones given, then secrets.extra sorted. */}}
{{- define "rhesis.pythonSecretEnv" -}}
{{- $optional := dict }}{{ include "rhesis.optionalSecrets" (dict "root" . "out" $optional) }}
{{- range $k := concat (list "SESSION_SECRET_KEY" "JWT_SECRET_KEY" "DB_ENCRYPTION_KEY" "APP_DB_PASS" "REDIS_PASSWORD" "BROKER_URL" "CELERY_RESULT_BACKEND" "AUDIT_HASH_KEY") (keys $optional | sortAlpha) (keys $.Values.secrets.extra | sortAlpha) }}
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
