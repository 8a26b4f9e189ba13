{{/* Chart name, overridable. */}}
{{- define "arize-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: release name plus chart name, unless one contains the other. */}}
{{- define "arize-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "arize-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "arize-exporter.labels" -}}
helm.sh/chart: {{ include "arize-exporter.chart" . }}
{{ include "arize-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "arize-exporter.name" . }}
{{- end }}

{{/* Labels the Service and the Deployment select pods by. */}}
{{- define "arize-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "arize-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "arize-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "arize-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "arize-exporter.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The Secret holding the API key and the key inside it, as a dict
{name, key}; empty when no key is configured (demo mode).
*/}}
{{- define "arize-exporter.apiKeySecret" -}}
{{- $k := .Values.apiKey }}
{{- if and $k.value $k.existingSecret.name }}
{{- fail "apiKey: set either apiKey.value or apiKey.existingSecret.name, not both" }}
{{- end }}
{{- if $k.existingSecret.name }}
{{- dict "name" $k.existingSecret.name "key" $k.existingSecret.key | toJson }}
{{- else if $k.value }}
{{- dict "name" (include "arize-exporter.fullname" .) "key" "api-key" | toJson }}
{{- else }}
{{- dict | toJson }}
{{- end }}
{{- end }}

{{/* Where the key file is mounted in the container. */}}
{{- define "arize-exporter.apiKeyDir" -}}
/etc/arize-exporter/api-key
{{- end }}

{{/*
The exporter's command-line flags, as a YAML list. Every value is a string
of the form --flag=value, so that no value can break the manifest. Empty
settings are left out: the exporter's own default applies.
*/}}
{{- define "arize-exporter.args" -}}
{{- $c := .Values.config }}
{{- $secret := include "arize-exporter.apiKeySecret" . | fromJson }}
{{- $args := list }}
{{- if $c.demo }}
{{- $args = append $args "--demo" }}
{{- end }}
{{- if $secret.name }}
{{- $args = append $args (printf "--api-key-file=%s/%s" (include "arize-exporter.apiKeyDir" .) $secret.key) }}
{{- end }}
{{- $flags := list
  (list "api-url" $c.apiUrl)
  (list "region" $c.region)
  (list "task-name" $c.taskName)
  (list "project-id" $c.projectId)
  (list "dataset-id" $c.datasetId)
  (list "task-type" $c.taskType)
  (list "poll-interval" $c.pollInterval)
  (list "request-timeout" $c.requestTimeout)
  (list "max-retries" $c.maxRetries)
  (list "page-size" $c.pageSize)
  (list "max-requests-per-second" $c.maxRequestsPerSecond)
  (list "stale-after" $c.staleAfter)
  (list "names-refresh-interval" $c.namesRefreshInterval)
  (list "run-error-ratio-threshold" $c.runErrorRatioThreshold)
  (list "max-label-value-length" $c.maxLabelValueLength)
  (list "per-task-metrics" $c.perTaskMetrics)
  (list "log-format" $c.logFormat)
  (list "telemetry-path" $c.telemetryPath) }}
{{- range $flags }}
{{- $v := index . 1 }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
{{- $args = append $args (printf "--%s=%v" (index . 0) $v) }}
{{- end }}
{{- end }}
{{- $args = append $args (printf "--web.listen-address=:%v" (int .Values.service.port)) }}
{{- $web := include "arize-exporter.webConfigSecret" . | fromJson }}
{{- if $web.name }}
{{- $args = append $args (printf "--web.config.file=%s/%s" (include "arize-exporter.webConfigDir" .) $web.key) }}
{{- end }}
{{- range $c.spaceIds }}
{{- $args = append $args (printf "--space-id=%s" (toString .)) }}
{{- end }}
{{- range $c.spaceNames }}
{{- $args = append $args (printf "--space-name=%s" (toString .)) }}
{{- end }}
{{- with $c.metricAllowlist }}
{{- $args = append $args (printf "--metric-allowlist=%s" (join "," .)) }}
{{- end }}
{{- with $c.metricDenylist }}
{{- $args = append $args (printf "--metric-denylist=%s" (join "," .)) }}
{{- end }}
{{- range .Values.extraArgs }}
{{- $args = append $args (toString .) }}
{{- end }}
{{- toYaml $args }}
{{- end }}

{{/*
The Secret holding the exporter's web configuration (exporter-toolkit
format: TLS, client certificates, basic auth) and the key inside it, as a
dict {name, key}; empty when there is none (plain HTTP, no auth).
*/}}
{{- define "arize-exporter.webConfigSecret" -}}
{{- $w := .Values.web }}
{{- if and $w.config $w.existingSecret.name }}
{{- fail "web: set either web.config (the chart renders it into a Secret) or web.existingSecret.name, not both" }}
{{- end }}
{{- if $w.existingSecret.name }}
{{- dict "name" $w.existingSecret.name "key" $w.existingSecret.key | toJson }}
{{- else if $w.config }}
{{- dict "name" (printf "%s-web-config" (include "arize-exporter.fullname" .)) "key" "web-config.yml" | toJson }}
{{- else }}
{{- dict | toJson }}
{{- end }}
{{- end }}

{{/* Where the web configuration and the TLS Secret are mounted. */}}
{{- define "arize-exporter.webConfigDir" -}}
/etc/arize-exporter/web
{{- end }}
{{- define "arize-exporter.tlsDir" -}}
/etc/arize-exporter/tls
{{- end }}

{{/*
The web configuration the chart renders from web.config: with
web.tls.enabled and web.tls.secretName, tls_server_config gets the mounted
certificate and key unless web.config names its own.
*/}}
{{- define "arize-exporter.webConfig" -}}
{{- $w := .Values.web }}
{{- $cfg := deepCopy $w.config }}
{{- if $w.tls.enabled }}
{{- $tls := deepCopy (default (dict) (get $cfg "tls_server_config")) }}
{{- if not (or $tls.cert_file $tls.cert) }}
{{- if not $w.tls.secretName }}
{{- fail "web.tls: TLS is enabled but there is no certificate: set web.tls.secretName (a kubernetes.io/tls Secret) or cert_file/key_file in web.config.tls_server_config" }}
{{- end }}
{{- $_ := set $tls "cert_file" (printf "%s/tls.crt" (include "arize-exporter.tlsDir" .)) }}
{{- $_ := set $tls "key_file" (printf "%s/tls.key" (include "arize-exporter.tlsDir" .)) }}
{{- end }}
{{- $_ := set $cfg "tls_server_config" $tls }}
{{- else if hasKey $cfg "tls_server_config" }}
{{- fail "web.config.tls_server_config is set but web.tls.enabled is false: set web.tls.enabled=true so that the probes and the ServiceMonitor speak HTTPS" }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
"true" when the exporter demands a client certificate of every
connection, which kubelet's HTTPS probes cannot present: the probes then
only open a TCP connection.
*/}}
{{- define "arize-exporter.clientCertRequired" -}}
{{- $w := .Values.web }}
{{- $type := "" }}
{{- if and $w.config (get $w.config "tls_server_config") }}
{{- $type = toString (get (get $w.config "tls_server_config") "client_auth_type") }}
{{- end }}
{{- if and $w.tls.enabled (or $w.tls.clientCertRequired (has $type (list "RequireAnyClientCert" "RequireAndVerifyClientCert"))) }}
{{- print "true" }}
{{- end }}
{{- end }}

{{/*
A probe (livenessProbe or readinessProbe values) adapted to the web layer:
HTTPS when TLS is on, a TCP check when a client certificate is required.
/healthz and /readyz need no basic auth.
*/}}
{{- define "arize-exporter.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if and .root.Values.web.tls.enabled $probe.httpGet }}
{{- if include "arize-exporter.clientCertRequired" .root }}
{{- $_ := set $probe "tcpSocket" (dict "port" $probe.httpGet.port) }}
{{- $_ := unset $probe "httpGet" }}
{{- else if not $probe.httpGet.scheme }}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" }}
{{- end }}
{{- end }}
{{- toYaml $probe }}
{{- end }}
