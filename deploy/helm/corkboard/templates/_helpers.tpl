{{/* The chart's name. */}}
{{- define "corkboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, prefix of every object. */}}
{{- define "corkboard.fullname" -}}
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

{{- define "corkboard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "corkboard.selectorLabels" . }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "corkboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "corkboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "corkboard.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* The Secret holding DATABASE_URL (and NATS credentials), and its keys. */}}
{{- define "corkboard.secretName" -}}
{{- include "corkboard.fullname" . }}
{{- end }}

{{- define "corkboard.databaseSecret" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}{{ else }}{{ include "corkboard.secretName" . }}{{ end }}
{{- end }}

{{- define "corkboard.databaseKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{- define "corkboard.natsSecret" -}}
{{- if .Values.nats.existingSecret }}{{ .Values.nats.existingSecret }}{{ else }}{{ include "corkboard.secretName" . }}{{ end }}
{{- end }}

{{/* Whether the chart makes its own Secret at all. */}}
{{- define "corkboard.ownSecret" -}}
{{- if or (not .Values.database.existingSecret) (and .Values.nats.user (not .Values.nats.existingSecret)) }}true{{ end }}
{{- end }}

{{/* Whether NATS credentials are passed. */}}
{{- define "corkboard.natsAuth" -}}
{{- if or .Values.nats.existingSecret .Values.nats.user }}true{{ end }}
{{- end }}

{{/* Checks of values that the schema cannot express. */}}
{{- define "corkboard.validate" -}}
{{- if and (not .Values.database.existingSecret) (not .Values.database.url) }}
{{- fail "database.url or database.existingSecret is required: the chart runs against an external PostgreSQL" }}
{{- end }}
{{- if not .Values.nats.url }}
{{- fail "nats.url is required: the instances exchange events over an external NATS cluster (see docs/deploy.md for the NATS chart)" }}
{{- end }}
{{- if and .Values.nats.user (not .Values.nats.password) (not .Values.nats.existingSecret) }}
{{- fail "nats.user and nats.password go together" }}
{{- end }}
{{- if ge (int .Values.shutdown.drainDelaySeconds) (int .Values.shutdown.timeoutSeconds) }}
{{- fail "shutdown.drainDelaySeconds must be shorter than shutdown.timeoutSeconds (the drain is part of the shutdown)" }}
{{- end }}
{{- end }}

{{/* The environment every server container gets (the Deployment's and the migration Job's). */}}
{{- define "corkboard.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ include "corkboard.databaseKey" .root }}
- name: LOG_FORMAT
  value: {{ .root.Values.config.logFormat | quote }}
- name: LOG_LEVEL
  value: {{ .root.Values.config.logLevel | quote }}
{{- end }}
