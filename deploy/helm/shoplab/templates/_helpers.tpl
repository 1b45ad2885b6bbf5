{{/* The generated topology: services, edges, worker, toxiproxy's proxies (files/topology.json). */}}
{{- define "shoplab.topology" -}}
{{- .Files.Get "files/topology.json" -}}
{{- end -}}

{{- define "shoplab.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource of component `name`: (dict "root" $ "name" "gateway"). */}}
{{- define "shoplab.labels" -}}
{{ include "shoplab.selector" . }}
app.kubernetes.io/part-of: shoplab
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "shoplab.chart" .root }}
{{- end -}}

{{- define "shoplab.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "shoplab.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-shoplab-secrets" .Release.Name) -}}
{{- end -}}

{{- define "shoplab.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Scrape annotations for a Service exposing /metrics on `port`: (dict "root" $ "port" 8080). */}}
{{- define "shoplab.scrapeAnnotations" -}}
{{- if .root.Values.metrics.annotations }}
annotations:
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ .port | quote }}
  prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* The URL `caller` uses for `callee`: its toxiproxy proxy, or the callee itself without toxiproxy. */}}
{{- define "shoplab.peerURL" -}}
{{- $topo := include "shoplab.topology" .root | fromJson -}}
{{- $url := "" -}}
{{- if .root.Values.toxiproxy.enabled -}}
{{- range $topo.edges -}}
{{- if and (eq .caller $.caller) (eq .callee $.callee) -}}
{{- $url = printf "http://toxiproxy:%v" .port -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- range $topo.services -}}
{{- if eq .name $.callee -}}
{{- $url = printf "http://%s:%v" .name .port -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- required (printf "no edge %s__%s in files/topology.json" .caller .callee) $url -}}
{{- end -}}

{{/* The environment every shop container shares: secrets, profile, data dir, traces. */}}
{{- define "shoplab.commonEnv" -}}
- name: SHOPLAB_ADMIN_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ include "shoplab.secretName" . }}, key: {{ .Values.secrets.adminTokenKey }}}
- name: SHOPLAB_JWT_SECRET
  valueFrom:
    secretKeyRef: {name: {{ include "shoplab.secretName" . }}, key: {{ .Values.secrets.jwtSecretKey }}}
- {name: SHOPLAB_RESILIENCE_PROFILE, value: {{ .Values.profile | quote }}}
- {name: SHOPLAB_DATA_DIR, value: /data}
- {name: PYTHONUNBUFFERED, value: "1"}
{{- if .Values.jaeger.enabled }}
- {name: OTEL_EXPORTER_OTLP_ENDPOINT, value: "http://jaeger:4318"}
{{- else if .Values.jaeger.otlpEndpoint }}
- {name: OTEL_EXPORTER_OTLP_ENDPOINT, value: {{ .Values.jaeger.otlpEndpoint | quote }}}
{{- end }}
{{- end -}}

{{/* The hardened security context of every container (the image's user 10001, read-only root). */}}
{{- define "shoplab.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "shoplab.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
