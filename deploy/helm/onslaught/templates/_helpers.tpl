{{/* The release's name prefix for every object. */}}
{{- define "onslaught.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "onslaught.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: include "onslaught.selector" (list . "driver") */}}
{{- define "onslaught.selector" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ $ctx.Chart.Name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "onslaught.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding `secret` and `api-token`, if any. */}}
{{- define "onslaught.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "onslaught.fullname" .)) -}}
{{- end -}}

{{- define "onslaught.hasSecrets" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.secret .Values.secrets.apiToken -}}true{{- end -}}
{{- end -}}

{{/* Kafka flags shared by the orchestrator and the drivers. */}}
{{- define "onslaught.kafkaArgs" -}}
- --brokers
- {{ required "kafka.bootstrapServers is required (the Kafka bootstrap address, e.g. my-cluster-kafka-bootstrap.kafka:9092)" .Values.kafka.bootstrapServers | quote }}
{{- with .Values.kafka.topicPrefix }}
- --topic-prefix
- {{ . | quote }}
{{- end }}
{{- range $key, $value := .Values.kafka.config }}
- --kafka-config
- {{ printf "%s=%v" $key $value | quote }}
{{- end }}
{{- range $i, $s := .Values.kafka.secretConfig }}
- --kafka-config
- {{ printf "%s=$(ONSLAUGHT_KAFKA_SECRET_%d)" $s.setting $i | quote }}
{{- end }}
{{- end -}}

{{/* Environment shared by the orchestrator and the drivers: the secret and Kafka secrets. */}}
{{- define "onslaught.secretEnv" -}}
{{- if include "onslaught.hasSecrets" . }}
- name: ONSLAUGHT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "onslaught.secretName" . }}
      key: secret
      optional: true
{{- end }}
{{- range $i, $s := .Values.kafka.secretConfig }}
- name: ONSLAUGHT_KAFKA_SECRET_{{ $i }}
  valueFrom:
    secretKeyRef:
      name: {{ $s.secretName }}
      key: {{ $s.key }}
{{- end }}
{{- end -}}
