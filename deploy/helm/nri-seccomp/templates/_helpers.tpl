{{/* Common labels. */}}
{{- define "nri-seccomp.labels" -}}
app.kubernetes.io/name: nri-seccomp
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "nri-seccomp.selector" -}}
app.kubernetes.io/name: nri-seccomp
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The objects' name, the usual Helm way: the release name when it already
contains the chart's name (release nri-seccomp: nri-seccomp, not
nri-seccomp-nri-seccomp), else <release>-<chart>. 63 characters at most.
*/}}
{{- define "nri-seccomp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end }}
