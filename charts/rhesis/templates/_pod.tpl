{{/*
The pod settings users add (global's and each component's nodeSelector ...
extraContainers), written into the pods the chart writes: each workload
template writes its extras where they belong, rhesis.placement writes the
scheduling keys, and rhesis.checkExtras refuses a clash before Kubernetes does.
*/}}

{{/*
A component's pod settings (global.nodeSelector ... extraContainers), set
into .out: its own value when not empty, else global's; podAnnotations,
podLabels and service.annotations merged over global's. Call with (dict
"root" $ "c" <component values, or an empty dict for global's alone> "out"
<an empty dict>).
*/}}
{{- define "rhesis.podSettings" -}}
{{- $g := .root.Values.global -}}
{{- $c := .c -}}
{{- range $k := list "nodeSelector" "tolerations" "affinity" "topologySpreadConstraints" "priorityClassName" "extraVolumes" "extraVolumeMounts" "extraEnvFrom" "initContainers" "extraContainers" -}}
{{- $_ := set $.out $k (index $c $k | default (index $g $k)) -}}
{{- end -}}
{{- range $k := list "podAnnotations" "podLabels" -}}
{{- $_ := set $.out $k (merge (deepCopy (index $c $k | default dict)) (index $g $k | default dict)) -}}
{{- end -}}
{{- $_ := set .out "serviceAnnotations" (merge (deepCopy (($c.service).annotations | default dict)) (($g.service).annotations | default dict)) -}}
{{- end }}

{{/*
A pod's scheduling keys from its settings (.pod): nodeSelector, tolerations,
priorityClassName, affinity (unless .ownAffinity: the pod writes its own,
with the user's terms), and, given .spread (rhesis.spread's argument), the
user's topologySpreadConstraints or else the chart's soft spread.
*/}}
{{- define "rhesis.placement" -}}
{{- with .pod.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if not .ownAffinity }}{{ with .pod.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}{{ end }}
{{- with .spread }}
{{- with $.pod.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- else }}
{{- include "rhesis.spread" . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails, naming the values key (.key), when the pod settings (.pod) would
clash with the pod the chart writes: a volume or container name, or a mount
path of the main container, given twice or already the chart's (.volumes,
.containers, .mounts: the chart's own names and paths, and those of the
scratch volumes of .scratch, a key of rhesis.scratchPaths), or a mount of no
volume of the pod.
*/}}
{{- define "rhesis.checkExtras" -}}
{{- $p := .pod -}}
{{- $volumes := .volumes | default list }}{{ $mounts := .mounts | default list -}}
{{- with .scratch }}{{ range $name, $path := index (include "rhesis.scratchPaths" . | fromYaml) . }}{{ $volumes = append $volumes $name }}{{ $mounts = append $mounts $path }}{{ end }}{{ end -}}
{{- range $p.extraVolumes }}{{ $volumes = append $volumes .name }}{{ end -}}
{{- include "rhesis.unique" (dict "items" $volumes "what" "name" "key" (printf "%s.extraVolumes" .key)) -}}
{{- $containers := .containers }}{{ range concat ($p.initContainers | default list) ($p.extraContainers | default list) }}{{ $containers = append $containers .name }}{{ end -}}
{{- include "rhesis.unique" (dict "items" $containers "what" "name" "key" (printf "%s.initContainers or %s.extraContainers" .key .key)) -}}
{{- range $p.extraVolumeMounts }}{{ $mounts = append $mounts .mountPath }}{{ end -}}
{{- include "rhesis.unique" (dict "items" $mounts "what" "mountPath" "key" (printf "%s.extraVolumeMounts" .key)) -}}
{{- range $p.extraVolumeMounts }}{{ if not (has .name $volumes) }}{{ fail (printf "%s.extraVolumeMounts: %q mounts no volume of the pod; add it to extraVolumes" $.key .name) }}{{ end }}{{ end -}}
{{- end }}

{{/* Fails when .items (strings) holds one twice. Call with (dict "items" .. "what" <what they are, for the error> "key" <values key named in the error>). */}}
{{- define "rhesis.unique" -}}
{{- $seen := dict -}}
{{- range .items -}}
{{- $v := toString . -}}
{{- if hasKey $seen $v }}{{ fail (printf "%s: the %s %q is already in the pod (the chart's own, or given twice); choose another" $.key $.what $v) }}{{ end -}}
{{- $_ := set $seen $v true -}}
{{- end -}}
{{- end }}
