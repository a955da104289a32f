{{/*
The pod settings users add (global's and each component's nodeSelector ...
extraContainers), merged into the pods the chart writes.
*/}}

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
