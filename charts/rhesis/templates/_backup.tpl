{{/*
The containers the backup and the restore share: one in the database's image
(pg_dump, pg_restore, gpg) and one in rclone's (the object store). Call with
(dict "root" $ "name" .. "script" "files/<script>.sh" "env" (list (dict "name" .. "value" ..)) "mounts" (list <volumeMount>)).
*/}}
{{- define "rhesis.backup.databaseContainer" -}}
{{- $root := .root }}
{{- $pg := $root.Values.database.postgresql }}
{{- $config := include "rhesis.name" (list $root "rhesis-config") }}
- name: {{ .name }}
  {{- include "rhesis.containerImage" (dict "root" $root "image" $pg.image) | nindent 2 }}
  command:
    - sh
    - -c
    - {{ $root.Files.Get .script | quote }}
  env:
    - name: PGHOST
      valueFrom: {configMapKeyRef: {name: {{ $config }}, key: DB_HOST}}
    - name: PGPORT
      valueFrom: {configMapKeyRef: {name: {{ $config }}, key: DB_PORT}}
    - name: PGDATABASE
      valueFrom: {configMapKeyRef: {name: {{ $config }}, key: DB_NAME}}
    - name: PGUSER
      value: {{ include "rhesis.dbOwner" $root }}
    {{- include "rhesis.secretEnv" (dict "root" $root "name" "PGPASSWORD" "key" "ADMIN_DB_PASS") | nindent 4 }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources:
    {{- include "rhesis.resources" $root.Values.backup.resources | nindent 4 }}
  volumeMounts:
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    - name: tmp
      mountPath: /tmp
  securityContext:
    {{- include "rhesis.containerSecurity" (dict "root" $root "runAs" $pg.runAs) | nindent 4 }}
{{- end }}

{{- define "rhesis.backup.remoteContainer" -}}
{{- $root := .root }}
{{- $remote := $root.Values.backup.remote }}
- name: {{ .name }}
  image: {{ $remote.image }}
  imagePullPolicy: IfNotPresent
  command:
    - sh
    - -c
    - {{ $root.Files.Get .script | quote }}
  {{- with $remote.credentialsSecret }}
  envFrom:
    - secretRef:
        name: {{ . }}
  {{- end }}
  env:
    {{- include "rhesis.backupRemoteEnv" $root | nindent 4 }}
    # rclone's cache and config folders, on the writable /tmp.
    - name: HOME
      value: /tmp
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources:
    {{- include "rhesis.resources" $remote.resources | nindent 4 }}
  volumeMounts:
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    - name: tmp
      mountPath: /tmp
  securityContext:
    {{- include "rhesis.containerSecurity" (dict "root" $root "runAs" $root.Values.database.postgresql.runAs) | nindent 4 }}
{{- end }}

{{/* The passphrase of the off-site copies: the Secret's key as a file, and where it is mounted. */}}
{{- define "rhesis.backup.keyVolume" -}}
- name: backup-key
  secret:
    secretName: {{ .Values.backup.encryption.passphrase.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.backup.encryption.passphrase.key }}
        path: passphrase
{{- end }}

{{/* The port of the object store's endpoint: backup.remote.endpoint's, else 443 (AWS S3 and the clouds' stores). */}}
{{- define "rhesis.backup.storePort" -}}
{{- $endpoint := urlParse (.Values.backup.remote.endpoint | default "https://object-store") -}}
{{- if contains ":" $endpoint.host }}{{ splitList ":" $endpoint.host | last }}{{ else }}{{ ternary 443 80 (eq $endpoint.scheme "https") }}{{ end -}}
{{- end }}

{{/*
The upload's rclone remote "offsite", from backup.remote: its type from the
URL's scheme, credentials from the environment (the credentials Secret's
variables, or the cloud's workload identity), and BACKUP_REMOTE, the bucket
and prefix on it. A missing bucket fails the upload instead of being created.
*/}}
{{- define "rhesis.backupRemoteEnv" -}}
{{- $r := .Values.backup.remote -}}
{{- $u := urlParse $r.url -}}
{{- $types := dict "s3" "s3" "gs" "google cloud storage" "azureblob" "azureblob" -}}
- name: RCLONE_CONFIG_OFFSITE_TYPE
  value: {{ index $types $u.scheme | quote }}
- name: RCLONE_CONFIG_OFFSITE_ENV_AUTH
  value: "true"
{{- if eq $u.scheme "s3" }}
- name: RCLONE_CONFIG_OFFSITE_PROVIDER
  value: {{ ternary "Other" "AWS" (ne $r.endpoint "") }}
- name: RCLONE_CONFIG_OFFSITE_NO_CHECK_BUCKET
  value: "true"
{{- with $r.endpoint }}
- name: RCLONE_CONFIG_OFFSITE_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $r.region }}
- name: RCLONE_CONFIG_OFFSITE_REGION
  value: {{ . | quote }}
{{- end }}
{{- else if eq $u.scheme "gs" }}
- name: RCLONE_CONFIG_OFFSITE_BUCKET_POLICY_ONLY
  value: "true"
{{- end }}
# Bounded retries: a store that is down fails the Job in about a minute, with rclone's error.
- name: RCLONE_RETRIES
  value: "3"
- name: RCLONE_LOW_LEVEL_RETRIES
  value: "3"
- name: RCLONE_RETRIES_SLEEP
  value: 10s
- name: RCLONE_CONTIMEOUT
  value: 15s
- name: BACKUP_REMOTE
  value: {{ printf "offsite:%s%s" $u.host ($u.path | trimSuffix "/") | quote }}
- name: BACKUP_REMOTE_URL
  value: {{ $r.url | trimSuffix "/" | quote }}
{{- end }}
