{{/*
The CA bundle (global.caBundle) that every container calling out over TLS
trusts: its volume, its mount, and the variables each runtime reads (the app
contract's trust facts). Python's SSL_CERT_FILE and REQUESTS_CA_BUNDLE replace
the default roots, so the bundle holds the public roots too; Node's
NODE_EXTRA_CA_CERTS adds to its own.
*/}}
{{- define "rhesis.caBundle.enabled" -}}
{{- with .Values.global.caBundle }}{{ if or .configMap .secret }}true{{ end }}{{ end -}}
{{- end }}

{{- define "rhesis.caBundle.file" -}}/etc/rhesis/ca/ca.crt{{- end }}

{{/* The volume. Call with $. */}}
{{- define "rhesis.caBundle.volume" -}}
{{- if include "rhesis.caBundle.enabled" . }}
{{- $b := .Values.global.caBundle }}
- name: ca-bundle
  {{- if $b.configMap }}
  configMap:
    name: {{ $b.configMap }}
  {{- else }}
  secret:
    secretName: {{ $b.secret }}
  {{- end }}
    items:
      - {key: {{ $b.key | quote }}, path: ca.crt}
{{- end }}
{{- end }}

{{/* The mount. Call with $. */}}
{{- define "rhesis.caBundle.mount" -}}
{{- if include "rhesis.caBundle.enabled" . }}
- name: ca-bundle
  mountPath: {{ include "rhesis.caBundle.file" . | dir }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The variables of a runtime. Call with (dict "root" $ "runtime" "python"|"node"). libpq reads its root certificate only to verify the server (sslMode verify-ca or verify-full). */}}
{{- define "rhesis.caBundle.env" -}}
{{- if include "rhesis.caBundle.enabled" .root }}
{{- $file := include "rhesis.caBundle.file" .root }}
{{- if eq .runtime "node" }}
- name: NODE_EXTRA_CA_CERTS
  value: {{ $file }}
{{- else }}
- name: SSL_CERT_FILE
  value: {{ $file }}
- name: REQUESTS_CA_BUNDLE
  value: {{ $file }}
{{- if and (not (include "rhesis.inClusterDatabase" .root)) (has .root.Values.database.external.sslMode (list "verify-ca" "verify-full")) }}
- name: PGSSLROOTCERT
  value: {{ $file }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
