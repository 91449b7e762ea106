{{/*
Names, labels and the per-service context shared by every template. A "component context" is
a dict with root (the chart's top context), name (ingest, cache or analytics) and svc (that
service's values).
*/}}

{{- define "gridgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gridgate.fullname" -}}
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

{{- define "gridgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The services this release runs, in a fixed order. */}}
{{- define "gridgate.components" -}}
{{- $out := list }}
{{- range $name := list "ingest" "cache" "analytics" }}
{{- if (index $.Values $name).enabled }}
{{- $out = append $out $name }}
{{- end }}
{{- end }}
{{- join " " $out }}
{{- end }}

{{/* Name of one service's objects: <fullname>-<service>. */}}
{{- define "gridgate.componentName" -}}
{{- printf "%s-%s" (include "gridgate.fullname" .root | trunc 50 | trimSuffix "-") .name }}
{{- end }}

{{- define "gridgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gridgate.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "gridgate.labels" -}}
helm.sh/chart: {{ include "gridgate.chart" .root }}
{{ include "gridgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: gridgate
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* Labels of objects that belong to the release as a whole (ServiceAccount, Ingress). */}}
{{- define "gridgate.releaseLabels" -}}
helm.sh/chart: {{ include "gridgate.chart" . }}
app.kubernetes.io/name: {{ include "gridgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: gridgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gridgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gridgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
One service's credentials (component context): the top-level secrets with <service>.secrets
over them. A non-empty value of the service wins; kafkaProps merge key by key. Returned as YAML,
for fromYaml.
*/}}
{{- define "gridgate.serviceSecrets" -}}
{{- $top := .root.Values.secrets | default dict }}
{{- $own := .svc.secrets | default dict }}
{{- $out := dict }}
{{- range $k := list "existingSecret" "apiToken" "adminToken" "backendPassword" "mongoUri" "redisUrl" }}
{{- $_ := set $out $k (get $own $k | default (get $top $k) | default "") }}
{{- end }}
{{- $props := dict }}
{{- range $k, $v := $top.kafkaProps }}
{{- $_ := set $props $k $v }}
{{- end }}
{{- range $k, $v := $own.kafkaProps }}
{{- if or $v (not (hasKey $props $k)) }}
{{- $_ := set $props $k $v }}
{{- end }}
{{- end }}
{{- $_ := set $out "kafkaProps" $props }}
{{- toYaml $out }}
{{- end }}

{{/*
Name of the Secret one service reads (component context): its existingSecret (its own, else the
top-level one), or the Secret the chart renders for it, <fullname>-<service>.
*/}}
{{- define "gridgate.secretName" -}}
{{- (include "gridgate.serviceSecrets" . | fromYaml).existingSecret | default (include "gridgate.componentName" .) }}
{{- end }}

{{- define "gridgate.image" -}}
{{- $reg := .root.Values.image.registry | trimSuffix "/" }}
{{- $tag := .svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- if $reg }}{{ printf "%s/%s:%s" $reg .svc.image.repository $tag }}{{ else }}{{ printf "%s:%s" .svc.image.repository $tag }}{{ end }}
{{- end }}

{{/*
The non-secret GRIDGATE_* settings of one service, as a YAML map (the ConfigMap's data).
Each service gets only the settings it reads; extraEnv comes last and wins.
*/}}
{{- define "gridgate.config" -}}
{{- $c := .root.Values.config }}
{{- $env := dict
  "GRIDGATE_LISTEN" (printf "0.0.0.0:%v" .svc.port)
  "GRIDGATE_LOG_LEVEL" $c.logLevel
  "GRIDGATE_HTTP_THREADS" $c.httpThreads
  "GRIDGATE_MAX_BODY" $c.maxBody
  "GRIDGATE_PROBE_INTERVAL_MS" $c.probeIntervalMs
  "GRIDGATE_SHUTDOWN_TIMEOUT_MS" $c.shutdownTimeoutMs
  "GRIDGATE_MAX_CONNECTIONS" $c.maxConnections
  "GRIDGATE_MAX_HEADER_BYTES" $c.maxHeaderBytes
  "GRIDGATE_IDLE_TIMEOUT_S" $c.idleTimeoutS
  "GRIDGATE_BACKEND_THREADS" $c.backendThreads
  "GRIDGATE_ROUTE_CONCURRENCY" $c.routeConcurrency }}
{{- with $c.corsOrigin }}{{ $_ := set $env "GRIDGATE_CORS_ORIGIN" . }}{{ end }}
{{- if has .name (list "ingest" "cache") }}
{{- $_ := set $env "GRIDGATE_KAFKA_BROKERS" $c.kafka.brokers }}
{{- $_ = set $env "GRIDGATE_KAFKA_TOPIC" $c.kafka.topic }}
{{- $_ = set $env "GRIDGATE_KAFKA_GROUP" .svc.kafkaGroup }}
{{- with $c.kafka.recordBytes }}{{ $_ := set $env "GRIDGATE_KAFKA_RECORD_BYTES" . }}{{ end }}
{{- with $c.kafka.prefetchBatches }}{{ $_ := set $env "GRIDGATE_KAFKA_PREFETCH_BATCHES" . }}{{ end }}
{{- range $k, $v := $c.kafka.props }}
{{- $_ = set $env (printf "GRIDGATE_KAFKA_PROP_%s" $k) $v }}
{{- end }}
{{- end }}
{{- if eq .name "ingest" }}
{{- $_ := set $env "GRIDGATE_MONGO_DB" $c.mongo.db }}
{{- $_ = set $env "GRIDGATE_MONGO_COLLECTION" $c.mongo.collection }}
{{- else if eq .name "cache" }}
{{- $_ := set $env "GRIDGATE_REDIS_TIMEOUT_MS" $c.redisTimeoutMs }}
{{- $_ = set $env "GRIDGATE_STREAM_MAX" $c.streamMax }}
{{- $_ = set $env "GRIDGATE_STREAM_QUEUE" $c.streamQueue }}
{{- $_ = set $env "GRIDGATE_STREAM_HEARTBEAT_S" $c.streamHeartbeatS }}
{{- else if eq .name "analytics" }}
{{- $_ := set $env "GRIDGATE_WEBHCAT_URL" $c.webhcatUrl }}
{{- $_ = set $env "GRIDGATE_WEBHDFS_URL" $c.webhdfsUrl }}
{{- $_ = set $env "GRIDGATE_HADOOP_USER" $c.hadoopUser }}
{{- $_ = set $env "GRIDGATE_BACKEND_TIMEOUT_MS" $c.backendTimeoutMs }}
{{- $_ = set $env "GRIDGATE_WAIT_MAX_S" $c.waitMaxS }}
{{- $_ = set $env "GRIDGATE_BACKEND_AUTH" ($c.backendAuth | default "simple") }}
{{- with $c.backendUser }}
{{- $_ = set $env "GRIDGATE_BACKEND_USER" . }}
{{- end }}
{{- with $c.hiveJdbcUrl }}
{{- $_ = set $env "GRIDGATE_HIVE_JDBC_URL" . }}
{{- end }}
{{- end }}
{{- range $k, $v := .svc.extraEnv }}
{{- $_ := set $env $k $v }}
{{- end }}
{{- range $k := keys $env | sortAlpha }}
{{- if regexMatch (include "gridgate.credentialPattern" $) $k }}
{{- fail (printf "%s is a credential and would land in the %s ConfigMap: set it under secrets (or %s.secrets), not in extraEnv or config.kafka.props" $k $.name $.name) }}
{{- end }}
{{ $k }}: {{ include "gridgate.envValue" (index $env $k) | quote }}
{{- end }}
{{- end }}

{{/*
The GRIDGATE_* names whose values are credentials: they come from Secrets only.
*/}}
{{- define "gridgate.credentialPattern" -}}
^GRIDGATE_(API_TOKEN|ADMIN_TOKEN|BACKEND_PASSWORD|MONGO_URI|REDIS_URL|KAFKA_PROP_(SASL_(USERNAME|PASSWORD|OAUTHBEARER.*)|sasl\.(username|password).*|SSL_KEY.*|ssl\.key.*))$
{{- end }}

{{/*
One value as the text a service parses. YAML numbers reach templates as float64, whose default
text is "1.048576e+06": a whole number is written as an integer, anything else as is.
*/}}
{{- define "gridgate.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/*
The Ingress's annotations: ingress.longRequests' ingress-nginx settings, then
ingress.annotations, which win. Every value is a string, as Kubernetes requires.
*/}}
{{- define "gridgate.ingressAnnotations" -}}
{{- $ann := dict }}
{{- if .Values.ingress.longRequests }}
{{- $timeout := add (int64 .Values.config.waitMaxS) 60 }}
{{- $_ := set $ann "nginx.ingress.kubernetes.io/proxy-read-timeout" $timeout }}
{{- $_ = set $ann "nginx.ingress.kubernetes.io/proxy-send-timeout" $timeout }}
{{- $_ = set $ann "nginx.ingress.kubernetes.io/proxy-buffering" "off" }}
{{- end }}
{{- range $k, $v := .Values.ingress.annotations }}
{{- $_ := set $ann $k $v }}
{{- end }}
{{- range $k := keys $ann | sortAlpha }}
{{ $k }}: {{ include "gridgate.envValue" (index $ann $k) | quote }}
{{- end }}
{{- end }}

{{/*
The secret keys one service reads: name -> true when the key must exist in the Secret, false
when it is optional (an unset token disables or opens what it guards). Kafka's keys are those of
the service's merged kafkaProps.
*/}}
{{- define "gridgate.secretKeys" -}}
{{- $keys := dict }}
{{- if eq .name "ingest" }}
{{- $_ := set $keys "GRIDGATE_MONGO_URI" true }}
{{- $_ = set $keys "GRIDGATE_API_TOKEN" false }}
{{- else if eq .name "cache" }}
{{- $_ := set $keys "GRIDGATE_REDIS_URL" true }}
{{- else if eq .name "analytics" }}
{{- $_ := set $keys "GRIDGATE_API_TOKEN" false }}
{{- $_ = set $keys "GRIDGATE_ADMIN_TOKEN" false }}
{{- $_ = set $keys "GRIDGATE_BACKEND_PASSWORD" false }}
{{- end }}
{{- if has .name (list "ingest" "cache") }}
{{- range $k, $v := (include "gridgate.serviceSecrets" . | fromYaml).kafkaProps }}
{{- $_ := set $keys (printf "GRIDGATE_KAFKA_PROP_%s" $k) true }}
{{- end }}
{{- end }}
{{- toYaml $keys }}
{{- end }}

{{/*
The Secret the chart renders for one service (component context), holding only the keys that
service reads; nothing when the service reads a Secret managed elsewhere (existingSecret). An
empty token is left out, so that the service sees it unset. deployment.yaml hashes this text
into the pods' checksum/secret, so a pod rolls when its own Secret changes and only then.
*/}}
{{- define "gridgate.secret" -}}
{{- $s := include "gridgate.serviceSecrets" . | fromYaml }}
{{- if not $s.existingSecret }}
{{- $field := dict "GRIDGATE_MONGO_URI" "mongoUri" "GRIDGATE_REDIS_URL" "redisUrl"
  "GRIDGATE_API_TOKEN" "apiToken" "GRIDGATE_ADMIN_TOKEN" "adminToken"
  "GRIDGATE_BACKEND_PASSWORD" "backendPassword" }}
{{- $data := dict }}
{{- range $key, $required := include "gridgate.secretKeys" . | fromYaml }}
{{- $name := get $field $key }}
{{- $value := "" }}
{{- if $name }}
{{- $value = get $s $name }}
{{- else }}
{{- $prop := trimPrefix "GRIDGATE_KAFKA_PROP_" $key }}
{{- $name = printf "kafkaProps.%s" $prop }}
{{- $value = get $s.kafkaProps $prop }}
{{- end }}
{{- if $required }}
{{- $_ := set $data $key (required (printf "%s.secrets.%s or secrets.%s needs a value" $.name $name $name) $value) }}
{{- else if $value }}
{{- $_ := set $data $key $value }}
{{- end }}
{{- end }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "gridgate.componentName" . }}
  labels:
    {{- include "gridgate.labels" . | nindent 4 }}
type: Opaque
{{- if $data }}
stringData:
  {{- range $k := keys $data | sortAlpha }}
  {{ $k }}: {{ index $data $k | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
