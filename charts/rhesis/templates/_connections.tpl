{{/*
The most database connections backend and worker can hold at once, set into
.out (total, and the terms of the sum for messages); docs/operations.md
("Database connections") writes the sum out:
- every Python process pools up to 30 (Rhesis' app/database.py:234-235:
  pool_size 10 + max_overflow 20, not configurable);
- a backend pod runs backend.workers gunicorn processes in production
  (start.sh:112,133-144), one uvicorn process elsewhere; a worker pod runs two
  Celery processes, main and architect (worker/start.sh:243-244);
- pods: the autoscaler's maximum (else replicas), the one a rollout adds
  (maxSurge 1), and every old pod, which may still finish its requests or
  tasks (its grace period) while its replacement runs: 2 x pods + 1;
- 10 more: the migration Job, the init containers, the backup, the
  exporter, an operator's psql.
Also sets .out.server, the in-cluster server's default max_connections.
Call with (dict "root" $ "out" <an empty dict>).
*/}}
{{- define "rhesis.dbConnections" -}}
{{- $v := .root.Values -}}
{{- $perProcess := 30 -}}
{{- $backend := 0 }}{{ $worker := 0 -}}
{{- with $v.backend }}{{ if .enabled -}}
  {{- $pods := ternary .autoscaling.maxReplicas .replicas .autoscaling.enabled | int -}}
  {{- $procs := ternary (int .workers) 1 (eq (include "rhesis.appEnv" $.root) "production") -}}
  {{- $backend = mul (add (mul 2 $pods) 1) $procs $perProcess -}}
  {{- $_ := set $.out "backend" (printf "backend (2 x %d + 1) pods x %d processes x %d" $pods $procs $perProcess) -}}
{{- end }}{{ end -}}
{{- with $v.worker }}{{ if .enabled -}}
  {{- $pods := ternary .autoscaling.maxReplicas .replicas .autoscaling.enabled | int -}}
  {{- $worker = mul (add (mul 2 $pods) 1) 2 $perProcess -}}
  {{- $_ := set $.out "worker" (printf "worker (2 x %d + 1) pods x 2 processes x %d" $pods $perProcess) -}}
{{- end }}{{ end -}}
{{- $_ := set .out "total" (add $backend $worker 10) -}}
{{- /* The in-cluster server's max_connections: the sum up to a multiple of 500, so that scaling within a step does not restart the database (max_connections needs a restart). */ -}}
{{- $_ := set .out "server" (mul (div (add .out.total 499) 500) 500) -}}
{{- end }}
