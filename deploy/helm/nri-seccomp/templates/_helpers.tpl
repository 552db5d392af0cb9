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

{{- define "nri-seccomp.fullname" -}}
{{- printf "%s-nri-seccomp" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}
