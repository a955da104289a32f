{{/*
Checks what the schema cannot express, all at once: the environment's
required settings. Rendered by platform.yaml, which every install has.
*/}}
{{- define "rhesis.validate" -}}
{{- $v := .Values -}}
{{- $problems := list -}}
{{- /* The chart's secret values, as secrets.secretKeyRefs and secrets.externalSecret.data name them. */ -}}
{{- $secretNames := list "sessionSecretKey" "jwtSecretKey" "nextauthSecret" "dbEncryptionKey" "dbPassword" "dbAppPassword" "redisPassword" "auditHashKey" -}}
{{- if and $v.global.caBundle.configMap $v.global.caBundle.secret -}}
  {{- $problems = append $problems "global.caBundle names both a ConfigMap and a Secret: keep one (--set global.caBundle.secret=)" -}}
{{- end -}}
{{- if include "rhesis.caBundle.enabled" $ -}}
  {{- range $c := list "backend" "worker" "frontend" -}}
    {{- range $k := list "SSL_CERT_FILE" "REQUESTS_CA_BUNDLE" "NODE_EXTRA_CA_CERTS" "PGSSLROOTCERT" -}}
      {{- if hasKey (index $v $c).extraEnv $k -}}
        {{- $problems = append $problems (printf "%s.extraEnv.%s cannot go with global.caBundle, which sets it to the mounted bundle: drop it (--set %s.extraEnv.%s=null)" $c $k $c $k) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if ne $v.global.environment "local" -}}
  {{- if and $v.ingress.enabled (not $v.ingress.host) -}}
    {{- $problems = append $problems (printf "ingress.host is required in %s while the ingress is on: the frontend's host (--set ingress.host=rhesis.example.com), from which the URLs follow" $v.global.environment) -}}
  {{- else if and $v.gateway.enabled (not $v.gateway.host) -}}
    {{- $problems = append $problems (printf "gateway.host is required in %s while the routes are on: the frontend's host (--set gateway.host=rhesis.example.com), from which the URLs follow" $v.global.environment) -}}
  {{- else -}}
  {{- range $k := list "frontendUrl" "apiBaseUrl" -}}
    {{- if not (include "rhesis.browserURL" (dict "root" $ "which" (ternary "frontend" "api" (eq $k "frontendUrl")))) -}}
      {{- $problems = append $problems (printf "global.%s is required in %s: the https URL browsers use (--set global.%s=https://...), or turn on the ingress" $k $v.global.environment $k) -}}
    {{- end -}}
  {{- end -}}
  {{- end -}}
  {{- if not $v.secrets.existingSecret -}}
    {{- $x := $v.secrets.externalSecret -}}
    {{- range $k := $secretNames -}}
      {{- $elsewhere := or (hasKey $v.secrets.secretKeyRefs $k) (and $x.enabled (hasKey $x.data $k)) -}}
      {{- if and (not (index $v.secrets $k)) (not $elsewhere) (or (ne $k "dbAppPassword") (include "rhesis.appRole" $)) -}}
        {{- $gen := ternary "$(openssl rand -base64 32 | tr '+/' '-_')" "$(openssl rand -hex 32)" (eq $k "dbEncryptionKey") -}}
        {{- if $x.enabled -}}
        {{- $problems = append $problems (printf "secrets.externalSecret.data.%s is required in %s: the key in the store that holds it (--set secrets.externalSecret.data.%s.key=rhesis/%s), or a reference secrets.secretKeyRefs.%s" $k $v.global.environment $k $k $k) -}}
        {{- else -}}
        {{- $problems = append $problems (printf "secrets.%s is required in %s (or secrets.secretKeyRefs.%s naming a Secret and key, or secrets.existingSecret): --set secrets.%s=\"%s\"" $k $v.global.environment $k $k $gen) -}}
        {{- end -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $images := dict "frontend" $v.frontend "backend" $v.backend "worker" $v.worker "database.postgresql" $v.database.postgresql "redis" $v.redis "migrations" $v.migrations -}}
{{- $enabled := dict "frontend" $v.frontend.enabled "backend" $v.backend.enabled "worker" $v.worker.enabled "database.postgresql" (include "rhesis.inClusterDatabase" $) "redis" (include "rhesis.inClusterRedis" $) "migrations" (and $v.backend.enabled $v.migrations.enabled) -}}
{{- $tagProblems := dict -}}
{{- range $name := keys $images | sortAlpha -}}
  {{- $c := index $images $name -}}
  {{- if and (index $enabled $name) (ne $v.global.environment "local") -}}
    {{- $where := ternary (printf "%s.image.tag" $name) "global.imageTag" (ne $c.image.tag "") -}}
    {{- $tag := include "rhesis.imageTag" (dict "root" $ "image" $c.image) -}}
    {{- if not $tag -}}
      {{- $_ := set $tagProblems $where (printf "%s is required in %s: the release or commit to deploy (--set %s=%s)" $where $v.global.environment $where $.Chart.AppVersion) -}}
    {{- else if eq $tag "latest" -}}
      {{- $_ := set $tagProblems $where (printf "%s=latest is refused in %s: latest names whatever was pushed last, so a deployment could not be repeated or rolled back (--set %s=%s)" $where $v.global.environment $where $.Chart.AppVersion) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $name := keys $images | sortAlpha -}}
  {{- $repo := (index $images $name).image.repository -}}
  {{- if and $repo (regexMatch ":[^/]*$" $repo) -}}
    {{- $problems = append $problems (printf "%s.image.repository (%s) must be a repository without a tag: the tag goes in %s.image.tag" $name $repo $name) -}}
  {{- end -}}
{{- end -}}
{{- range $k := keys $tagProblems | sortAlpha }}{{ $problems = append $problems (index $tagProblems $k) }}{{ end -}}
{{- if and (eq $v.global.environment "prod") $v.ingress.enabled (not $v.ingress.tlsSecret) (not $v.ingress.clusterIssuer) -}}
  {{- $problems = append $problems "ingress.tlsSecret or ingress.clusterIssuer is required in prod: browsers would send session cookies in clear" -}}
{{- end -}}
{{- $r := $v.backup.remote -}}
{{- if and $v.backup.enabled $r.url (not $v.backup.encryption.passphrase.name) -}}
  {{- $problems = append $problems "backup.encryption.passphrase.name is required with backup.remote.url: a Secret you hold whose key is the passphrase every off-site dump is encrypted with (kubectl create secret generic rhesis-backup-key --from-literal=passphrase=\"$(openssl rand -base64 32)\"; --set backup.encryption.passphrase.name=rhesis-backup-key), kept outside the cluster too" -}}
{{- end -}}
{{- if and $v.backup.enabled (not $v.backup.keepInCluster) (not $r.url) -}}
  {{- $problems = append $problems "backup.keepInCluster=false needs backup.remote.url: otherwise no dump is kept anywhere (--set backup.remote.url=s3://<bucket>/<prefix>, or keep backup.keepInCluster=true)" -}}
{{- end -}}
{{- if and $r.url (or $r.endpoint $r.region) (not (hasPrefix "s3://" $r.url)) -}}
  {{- $problems = append $problems (printf "backup.remote.endpoint and backup.remote.region are for S3 (s3://); %s is not: drop them (--set backup.remote.endpoint= --set backup.remote.region=)" $r.url) -}}
{{- end -}}
{{- if and $v.backup.enabled $v.database.external.host -}}
  {{- $problems = append $problems "backup.enabled backs up the in-cluster database; an external one is backed up by its provider: --set backup.enabled=false" -}}
{{- end -}}
{{- if and (eq $v.storage.accessMode "ReadWriteMany") (not $v.storage.storageClass) -}}
  {{- $problems = append $problems "storage.storageClass is required with storage.accessMode=ReadWriteMany: the default classes of GKE, EKS and AKS cannot provision it and backend and worker would stay Pending; name a class that can (--set storage.storageClass=<Filestore, EFS, Azure Files, CephFS or NFS class>)" -}}
{{- end -}}
{{- if and $v.ingress.enabled $v.ingress.apiPath (ne $v.ingress.className "nginx") -}}
  {{- $problems = append $problems (printf "ingress.apiPath needs ingress.className=nginx: the API serves every route at / (no root path, main.py:579), so the prefix must go before the backend, which the chart can ask of ingress-nginx only (and of the Gateway API, gateway.apiPath); with %s, put the API on its own host (--set ingress.apiHost=api.<host> and ingress.apiPath=\"\")" ($v.ingress.className | default "no class")) -}}
{{- end -}}
{{- if and $v.ingress.apiHost $v.ingress.apiPath -}}
  {{- $problems = append $problems "ingress.apiHost and ingress.apiPath exclude each other" -}}
{{- end -}}
{{- if and $v.ingress.enabled (not $v.ingress.className) -}}
  {{- $problems = append $problems "ingress.className is required while the ingress is on: the IngressClass of your controller (kubectl get ingressclass), e.g. --set ingress.className=nginx" -}}
{{- end -}}
{{- $gw := $v.gateway -}}
{{- if $gw.enabled -}}
  {{- if $v.ingress.enabled -}}
    {{- $problems = append $problems "gateway.enabled and ingress.enabled exclude each other: publish through the Gateway API routes or through the Ingress (--set ingress.enabled=false)" -}}
  {{- end -}}
  {{- if not $gw.parentRefs -}}
    {{- $problems = append $problems "gateway.parentRefs is required while the routes are on: the Gateway they attach to (--set 'gateway.parentRefs[0].name=public,gateway.parentRefs[0].namespace=gateway-system')" -}}
  {{- end -}}
  {{- if and $gw.apiHost $gw.apiPath -}}
    {{- $problems = append $problems "gateway.apiHost and gateway.apiPath exclude each other" -}}
  {{- end -}}
  {{- if and (eq $v.global.environment "prod") (not $gw.https) -}}
    {{- $problems = append $problems "gateway.https must be true in prod: browsers would send session cookies in clear; terminate TLS at the Gateway's listener" -}}
  {{- end -}}
  {{- if and $v.networkPolicies.enabled (not (include "rhesis.gatewayNamespace" $)) -}}
    {{- $problems = append $problems "gateway.namespace is required with network policies when the parentRefs name no namespace: the namespace of the gateway's pods, the only one let in (--set gateway.namespace=gateway-system)" -}}
  {{- end -}}
{{- end -}}
{{- range $k := list "ingress" "gateway" -}}
  {{- with (index $v $k).apiPath -}}
    {{- if or (not (hasPrefix "/" .)) (eq . "/") (eq . "/api") (hasPrefix "/api/" .) -}}
      {{- $problems = append $problems (printf "%s.apiPath must be a path like /backend; / and /api belong to the frontend (NextAuth lives under /api/auth)" $k) -}}
    {{- end -}}
  {{- end -}}
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
{{- $cnpg := $v.database.postgresql.cloudnativepg -}}
{{- if include "rhesis.cloudnativepg" $ -}}
  {{- $key := "database.postgresql.cloudnativepg" -}}
  {{- if eq $v.global.environment "local" -}}
    {{- $problems = append $problems (printf "%s.enabled is for staging and prod: local keeps the single pod, which needs no operator (--set %s.enabled=false)" $key $key) -}}
  {{- end -}}
  {{- if not $v.database.postgresql.persistence.enabled -}}
    {{- $problems = append $problems (printf "database.postgresql.persistence.enabled=false cannot go with %s: each instance keeps its data on a claim of persistence.size (--set database.postgresql.persistence.enabled=true)" $key) -}}
  {{- end -}}
  {{- if and (not $cnpg.ownerSecret) (not $v.secrets.dbPassword) -}}
    {{- $problems = append $problems (printf "%s.ownerSecret is required when the chart does not hold secrets.dbPassword: a kubernetes.io/basic-auth Secret with username rhesis-user and the database password (kubectl create secret generic rhesis-postgres-owner --type=kubernetes.io/basic-auth --from-literal=username=rhesis-user --from-literal=password=...; --set %s.ownerSecret=rhesis-postgres-owner)" $key $key) -}}
  {{- end -}}
  {{- $b := $cnpg.backups -}}
  {{- if or $b.enabled $cnpg.recovery.enabled -}}
    {{- $scheme := (urlParse $v.backup.remote.url).scheme -}}
    {{- if and (not $b.destinationPath) (not $v.backup.remote.url) -}}
      {{- $problems = append $problems (printf "%s.backups needs an object store: %s.backups.destinationPath (s3://bucket/path, gs://bucket/path or https://<account>.blob.core.windows.net/<container>/path), or backup.remote.url, which it follows; or --set %s.backups.enabled=false to run without WAL archiving (no point-in-time recovery)" $key $key $key) -}}
    {{- else if and (not $b.destinationPath) (eq $scheme "azureblob") -}}
      {{- $problems = append $problems (printf "%s.backups.destinationPath is required with backup.remote.url=%s: Barman addresses Azure by the storage account's URL (--set %s.backups.destinationPath=https://<account>.blob.core.windows.net/<container>/cloudnativepg)" $key $v.backup.remote.url $key) -}}
    {{- end -}}
  {{- end -}}
  {{- if $cnpg.recovery.enabled -}}
    {{- if not $cnpg.recovery.fromServerName -}}
      {{- $problems = append $problems (printf "%s.recovery.fromServerName is required: the folder in the store of the cluster to recover (its backups.serverName, by default its Cluster's name, e.g. %s)" $key (include "rhesis.name" (list $ "postgres"))) -}}
    {{- else if and $b.enabled (eq $cnpg.recovery.fromServerName ($b.serverName | default (include "rhesis.name" (list $ "postgres")))) -}}
      {{- $problems = append $problems (printf "%s.backups.serverName must differ from recovery.fromServerName (%s): the recovered cluster archives to a folder of its own, and Barman refuses one that holds another cluster's WAL (--set %s.backups.serverName=%s-recovered)" $key $cnpg.recovery.fromServerName $key $cnpg.recovery.fromServerName) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $app := list "backend" "worker" -}}
  {{- if (index $v $app).enabled -}}
    {{- if and (not $v.database.enabled) (not $v.database.external.host) -}}
      {{- $problems = append $problems (printf "database.enabled must be true while %s.enabled is true, or set database.external.host (--set database.enabled=true)" $app) -}}
    {{- end -}}
    {{- if and (not $v.redis.enabled) (not $v.redis.external.host) -}}
      {{- $problems = append $problems (printf "redis.enabled must be true while %s.enabled is true, or set redis.external.host (--set redis.enabled=true)" $app) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $x := $v.secrets.externalSecret -}}
{{- range $where, $m := dict "secrets.secretKeyRefs" $v.secrets.secretKeyRefs "secrets.externalSecret.data" $x.data -}}
  {{- range $k := keys $m | sortAlpha -}}
    {{- if not (has $k $secretNames) -}}
      {{- $problems = append $problems (printf "%s.%s is not a secret of the chart; the keys are %s" $where $k (join ", " $secretNames)) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if $x.enabled -}}
  {{- if $v.secrets.existingSecret -}}
    {{- $problems = append $problems "secrets.externalSecret.enabled and secrets.existingSecret exclude each other: the ExternalSecret fills rhesis-secrets, existingSecret names another" -}}
  {{- end -}}
  {{- if not $x.secretStoreRef.name -}}
    {{- $problems = append $problems "secrets.externalSecret.secretStoreRef.name is required: the SecretStore or ClusterSecretStore to read from (--set secrets.externalSecret.secretStoreRef.name=vault)" -}}
  {{- end -}}
  {{- if $v.secrets.extra -}}
    {{- $problems = append $problems (printf "secrets.extra (%s) cannot go with secrets.externalSecret: the ExternalSecret owns rhesis-secrets; put them in a Secret of yours and name it in backend.extraEnvFrom and worker.extraEnvFrom" (keys $v.secrets.extra | sortAlpha | join ", ")) -}}
  {{- end -}}
{{- end -}}
{{- $pods := dict "global" $v.global "frontend" $v.frontend "backend" $v.backend "worker" $v.worker "database.postgresql" $v.database.postgresql "redis" $v.redis -}}
{{- range $name := keys $pods | sortAlpha -}}
  {{- $p := index $pods $name -}}
  {{- range $k := keys ($p.podLabels | default dict) | sortAlpha -}}
    {{- if or (has $k (list "app" "helm.sh/chart")) (hasPrefix "app.kubernetes.io/" $k) -}}
      {{- $problems = append $problems (printf "%s.podLabels.%s is a label the chart sets on every pod (selectors and policies use it); choose another key" $name $k) -}}
    {{- end -}}
  {{- end -}}
  {{- range $k := keys ($p.podAnnotations | default dict) | sortAlpha -}}
    {{- if or (hasPrefix "checksum/" $k) (hasPrefix "rhesis.dev/" $k) -}}
      {{- $problems = append $problems (printf "%s.podAnnotations.%s is an annotation the chart sets on pods; choose another key" $name $k) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if and $v.worker.keda.enabled (not $v.worker.autoscaling.enabled) -}}
  {{- $problems = append $problems "worker.keda.enabled needs worker.autoscaling.enabled: the scaler keeps the worker between its minReplicas and maxReplicas (--set worker.autoscaling.enabled=true)" -}}
{{- end -}}
{{- range $name := list "frontend" "backend" "worker" -}}
  {{- $a := (index $v $name).autoscaling -}}
  {{- if and $a.enabled (lt (int $a.maxReplicas) (int $a.minReplicas)) -}}
    {{- $problems = append $problems (printf "%s.autoscaling.maxReplicas (%v) is below %s.autoscaling.minReplicas (%v) (--set %s.autoscaling.maxReplicas=%v)" $name $a.maxReplicas $name $a.minReplicas $name $a.minReplicas) -}}
  {{- end -}}
{{- end -}}
{{- $limited := dict "frontend" $v.frontend.resources "backend" $v.backend.resources "worker" $v.worker.resources "database.postgresql" $v.database.postgresql.resources "redis" $v.redis.resources "migrations" $v.migrations.resources "backup" $v.backup.resources "monitoring.exporters" $v.monitoring.exporters.resources -}}
{{- range $name := keys $limited | sortAlpha -}}
  {{- $r := index $limited $name -}}
  {{- range $k := list "cpu" "memory" "ephemeralStorage" -}}
    {{- if lt (float64 (include "rhesis.quantity" (index $r.limits $k))) (float64 (include "rhesis.quantity" (index $r.requests $k))) -}}
      {{- $problems = append $problems (printf "%s.resources.limits.%s (%v) is below its request %v: a limit must be at least its request (--set %s.resources.limits.%s=%v)" $name $k (index $r.limits $k) (index $r.requests $k) $name $k (index $r.requests $k)) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $sizes := dict "database.postgresql.persistence.size" $v.database.postgresql.persistence.size "redis.persistence.size" $v.redis.persistence.size "backup.size" $v.backup.size "storage.size" $v.storage.size -}}
{{- range $k := keys $sizes | sortAlpha -}}
  {{- if le (float64 (include "rhesis.quantity" (index $sizes $k))) 0.0 -}}
    {{- $problems = append $problems (printf "%s must be larger than zero (--set %s=1Gi)" $k $k) -}}
  {{- end -}}
{{- end -}}
{{- if eq $v.global.environment "prod" -}}
  {{- $e := $v.database.external -}}
  {{- if and $e.host (not (has $e.sslMode (list "require" "verify-ca" "verify-full"))) -}}
    {{- $problems = append $problems "database.external.sslMode must be require, verify-ca or verify-full in prod: the password would otherwise cross the network in clear (--set database.external.sslMode=verify-full)" -}}
  {{- end -}}
  {{- if and $v.redis.external.host (not $v.redis.external.tls) -}}
    {{- $problems = append $problems "redis.external.tls must be true in prod: the password would otherwise cross the network in clear (--set redis.external.tls=true)" -}}
  {{- end -}}
{{- end -}}
{{- $s := $v.storage -}}
{{- $cloud := include "rhesis.cloudStorage" $ -}}
{{- if and (regexMatch "^[a-z0-9+.-]+://" $s.uri) (not $cloud) -}}
  {{- $problems = append $problems (printf "storage.uri=%s is refused: the Rhesis %s images hold no client for %s:// (s3fs is not installed; apps/backend/uv.lock has gcsfs only), so they would keep the files in each pod's /tmp/rhesis-files and lose them at the next restart (storage_service.py:144-152); keep them on the claim (--set storage.uri=\"\" with storage.accessMode=ReadWriteMany for several pods) or use Google Cloud Storage (--set storage.uri=gs://<bucket> with secrets.storageServiceAccountKey)" $s.uri $.Chart.AppVersion (regexFind "^[a-z0-9+.-]+" $s.uri)) -}}
{{- end -}}
{{- /* The claim's pods: the backend's (file imports) and, with files on the claim, the worker's. */ -}}
{{- $claimPods := ternary 0 (int $v.worker.replicas) (eq $cloud "true") | add (int $v.backend.replicas) -}}
{{- $scaled := or $v.backend.autoscaling.enabled (and (not $cloud) $v.worker.autoscaling.enabled) -}}
{{- if and (ne $v.global.environment "local") (or (gt (int $claimPods) 1) $scaled) (ne $s.accessMode "ReadWriteMany") -}}
  {{- $problems = append $problems (printf "storage.accessMode must be ReadWriteMany when %s run several pods outside local: they share the claim app-storage (%s) on any node (--set storage.accessMode=ReadWriteMany)" (ternary "backend pods" "backend and worker" (eq $cloud "true")) (ternary "file imports between their requests" "uploaded files and file imports" (eq $cloud "true"))) -}}
{{- end -}}
{{- $conn := dict }}{{ include "rhesis.dbConnections" (dict "root" $ "out" $conn) -}}
{{- $sum := printf "%s + %s + 10 for jobs and tools" ($conn.backend | default "backend 0") ($conn.worker | default "worker 0") -}}
{{- if $v.database.external.host -}}
  {{- if gt (int $conn.total) (int $v.database.external.maxConnections) -}}
    {{- $problems = append $problems (printf "database.external.maxConnections is %v, but backend and worker can open %d connections (%s; docs/operations.md): lower backend.autoscaling.maxReplicas, backend.workers or worker.autoscaling.maxReplicas, or give the server that many and say so (--set database.external.maxConnections=%d)" $v.database.external.maxConnections (int $conn.total) $sum (int $conn.total)) -}}
  {{- end -}}
{{- else if and $v.database.postgresql.maxConnections (lt (int $v.database.postgresql.maxConnections) (int $conn.total)) -}}
  {{- $problems = append $problems (printf "database.postgresql.maxConnections is %v, but backend and worker can open %d connections (%s; docs/operations.md): leave it 0 to admit them (--set database.postgresql.maxConnections=0), or lower backend.autoscaling.maxReplicas, backend.workers or worker.autoscaling.maxReplicas" $v.database.postgresql.maxConnections (int $conn.total) $sum) -}}
{{- end -}}
{{- /* Secrets an option needs, in every environment (an existing Secret must hold them itself). */ -}}
{{- if not $v.secrets.existingSecret -}}
  {{- $optional := dict }}{{ include "rhesis.optionalSecrets" (dict "root" $ "out" $optional) -}}
  {{- range $key := keys $optional | sortAlpha }}{{ $s := index $optional $key -}}
    {{- if and $s.with (not (include "rhesis.secretGiven" (dict "root" $ "value" $s.value))) -}}
      {{- $problems = append $problems (printf "secrets.%s is required with %s (or secrets.secretKeyRefs.%s naming a Secret and key): --set secrets.%s=\"%s\"" $s.value $s.with $s.value $s.value $s.hint) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if and $v.smtp.host (not $v.smtp.user) -}}
  {{- $problems = append $problems "smtp.user is required with smtp.host: Rhesis sends no mail without host, user and password (notifications/email/smtp.py:32) (--set smtp.user=<the relay's user>)" -}}
{{- end -}}
{{- if ne $v.global.environment "local" -}}
  {{- /* The development-only values are public: values-local.yaml holds them. */ -}}
  {{- $dev := (.Files.Get "values-local.yaml" | fromYaml).secrets | default dict -}}
  {{- range $k := keys $dev | sortAlpha -}}
    {{- if and (index $v.secrets $k) (eq (index $v.secrets $k) (index $dev $k)) -}}
      {{- $gen := ternary "$(openssl rand -base64 32 | tr '+/' '-_')" "$(openssl rand -hex 32)" (eq $k "dbEncryptionKey") -}}
      {{- $problems = append $problems (printf "secrets.%s is the local development value, which is public: --set secrets.%s=\"%s\"" $k $k $gen) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $name := keys $pods | sortAlpha -}}
  {{- $p := index $pods $name -}}
  {{- range $field := list "initContainers" "extraContainers" -}}
    {{- range $i, $c := (index $p $field | default list) -}}
      {{- if not $c.image -}}
        {{- $problems = append $problems (printf "%s.%s[%d] (%s) needs an image: the API server refuses a container without one" $name $field $i $c.name) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if $problems -}}
  {{- fail (printf "\ninvalid values (%d):\n  - %s" (len $problems) (join "\n  - " $problems)) -}}
{{- end -}}
{{- end }}

{{/* A Kubernetes quantity (500m, 2, 1.5Gi) as a number, to compare two; the schema has checked its form. */}}
{{- define "rhesis.quantity" -}}
{{- $q := toString . -}}
{{- $num := regexFind "^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?" $q -}}
{{- $scale := dict "" 1.0 "n" 1e-9 "u" 1e-6 "m" 1e-3 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- mulf (float64 $num) (get $scale (trimPrefix $num $q)) -}}
{{- end }}
