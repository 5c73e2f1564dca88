{{/*
Name of the chart, overridable.
*/}}
{{- define "holo-tutor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name, truncated to 63 characters (the DNS-label limit). Components append a
suffix, so they use "holo-tutor.componentName".
*/}}
{{- define "holo-tutor.fullname" -}}
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

{{/*
"<fullname>-<component>", still within 63 characters. Call with (dict "root" $ "component" "redis").
*/}}
{{- define "holo-tutor.componentName" -}}
{{- $suffix := printf "-%s" .component }}
{{- printf "%s%s" (include "holo-tutor.fullname" .root | trunc (int (sub 63 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "holo-tutor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Immutable selector labels. Call with (dict "root" $ "component" "app").
*/}}
{{- define "holo-tutor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "holo-tutor.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels of every object. Call with (dict "root" $ "component" "app").
*/}}
{{- define "holo-tutor.labels" -}}
helm.sh/chart: {{ include "holo-tutor.chart" .root }}
{{ include "holo-tutor.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: holo-tutor
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
An image reference from {repository, tag, digest}; the tag defaults to the appVersion.
Call with (dict "image" .Values.image "root" $).
*/}}
{{- define "holo-tutor.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag }}
{{- if .image.digest }}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "holo-tutor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "holo-tutor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "holo-tutor.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "holo-tutor.componentName" (dict "root" . "component" "operator")) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The secret settings: their env names, the `secrets.keys` entry each is read from.
*/}}
{{- define "holo-tutor.secretEnvNames" -}}
HOLO_AUTH_SECRET HOLO_LLM_API_KEY HOLO_ELEVENLABS_API_KEY HOLO_REDIS_URL
{{- end }}

{{/*
Refuse configurations that would be insecure or leak a secret into rendered output.
*/}}
{{- define "holo-tutor.validate" -}}
{{- if and (eq .Values.config.env "production") (not .Values.secrets.existingSecret) }}
{{- fail "secrets.existingSecret is required when config.env is production: create a Secret with the key `auth-secret` (32+ random characters, optionally `llm-api-key`, `elevenlabs-api-key`) and set secrets.existingSecret to its name (docs/operations.md, Install)" }}
{{- end }}
{{- if and (not .Values.redis.enabled) (not .Values.externalRedis.url) (not .Values.externalRedis.existingSecret) (eq .Values.config.env "production") }}
{{- fail "Redis is required in production: set redis.enabled=true, externalRedis.url or externalRedis.existingSecret" }}
{{- end }}
{{- if regexMatch "^[a-z+]+://[^/]*@" .Values.externalRedis.url }}
{{- fail "externalRedis.url must not contain credentials: put the full URL in a Secret and set externalRedis.existingSecret" }}
{{- end }}
{{- $secretNames := splitList " " (include "holo-tutor.secretEnvNames" .) }}
{{- range .Values.extraEnv }}
{{- if and (has .name $secretNames) (hasKey . "value") }}
{{- fail (printf "extraEnv: %s is a secret setting; it comes from secrets.existingSecret or externalRedis.existingSecret, never from a literal value" .name) }}
{{- end }}
{{- end }}
{{- if .Values.turnServer.enabled }}
{{- if not .Values.operator.enabled }}
{{- fail "turnServer.enabled needs operator.enabled" }}
{{- end }}
{{- if ne (toString .Values.turnServer.spec.realm) (toString .Values.config.turnRealm) }}
{{- fail (printf "turnServer.spec.realm (%s) must equal config.turnRealm (%s): the app signs credentials for its realm" .Values.turnServer.spec.realm .Values.config.turnRealm) }}
{{- end }}
{{- $ttl := dig "rotation" "credentialTTLSeconds" 3600 .Values.turnServer.spec }}
{{- if lt (int $ttl) (int .Values.config.turnCredentialTtl) }}
{{- fail (printf "turnServer.spec.rotation.credentialTTLSeconds (%v) must be at least config.turnCredentialTtl (%v): the old secret must outlive every credential minted with it" $ttl .Values.config.turnCredentialTtl) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Seconds between SIGTERM and SIGKILL: preStop sleep + drain + shutdown grace + margin.
*/}}
{{- define "holo-tutor.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (int .Values.preStopSleepSeconds) (int (ceil .Values.config.drainSeconds)) (int (ceil .Values.config.shutdownGraceSeconds)) 5 }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
Name of the Redis Service of the in-chart StatefulSet.
*/}}
{{- define "holo-tutor.redis.fullname" -}}
{{- include "holo-tutor.componentName" (dict "root" . "component" "redis") }}
{{- end }}

{{/*
The env entry for HOLO_REDIS_URL, or nothing when no Redis is configured.
*/}}
{{- define "holo-tutor.redisUrlEnv" -}}
{{- if .Values.redis.enabled }}
- name: HOLO_REDIS_URL
  value: {{ printf "redis://%s:6379/0" (include "holo-tutor.redis.fullname" .) | quote }}
{{- else if .Values.externalRedis.existingSecret }}
- name: HOLO_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
{{- else if .Values.externalRedis.url }}
- name: HOLO_REDIS_URL
  value: {{ .Values.externalRedis.url | quote }}
{{- end }}
{{- end }}
