{{/* The daemon's flags for events.enabled (events-rbac.yaml grants what they need). */}}
{{- define "nri-seccomp.eventsArgs" -}}
- --kube-events
{{- with .Values.events.apiServer }}
- --kube-api-server={{ . }}
{{- end }}
{{- end }}
