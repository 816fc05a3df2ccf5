{{/* Names: <release>-harbormaster, or the release name when it already says harbormaster. */}}
{{- define "harbormaster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "harbormaster.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Room is left for the longest suffix (-webhook-metrics): every name stays within 63. */}}
{{- define "harbormaster.webhookName" -}}{{ include "harbormaster.fullname" . }}-webhook{{- end -}}
{{- define "harbormaster.operatorName" -}}{{ include "harbormaster.fullname" . }}-operator{{- end -}}
{{- define "harbormaster.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{- required "certificates.existingSecret.name is required when certificates.mode is existingSecret" .Values.certificates.existingSecret.name -}}
{{- else -}}
{{- include "harbormaster.webhookName" . }}-tls
{{- end -}}
{{- end -}}
{{- define "harbormaster.certificateName" -}}{{ include "harbormaster.webhookName" . }}-serving{{- end -}}
{{- define "harbormaster.harborSecretName" -}}
{{- default (printf "%s-harbor" (include "harbormaster.fullname" .)) .Values.harbor.credentials.existingSecret -}}
{{- end -}}
{{- define "harbormaster.harborCaName" -}}
{{- default (printf "%s-harbor-ca" (include "harbormaster.fullname" .)) .Values.harbor.existingCaConfigMap -}}
{{- end -}}

{{- define "harbormaster.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "harbormaster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "webhook"). */}}
{{- define "harbormaster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "harbormaster.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "harbormaster.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The restricted Pod Security Standard, for every pod and container of the chart. */}}
{{- define "harbormaster.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "harbormaster.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Replicas on different nodes when the cluster has them. */}}
{{- define "harbormaster.spread" -}}
{{- $component := .component -}}
{{- $values := .values -}}
{{- if $values.topologySpreadConstraints -}}
{{- toYaml $values.topologySpreadConstraints -}}
{{- else -}}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "harbormaster.selectorLabels" (dict "root" .root "component" $component) | nindent 6 }}
{{- end -}}
{{- end -}}

{{/* Harbor flags and the volumes/mounts they read, shared by both components. */}}
{{/*
Harbor access per component: (dict "root" $ "component" "webhook"|"operator"). The webhook parses
untrusted requests and needs only read access, so it can have credentials of its own
(webhook.harbor.credentials, e.g. a read-only robot); without them it falls back to the shared
harbor.credentials (NOTES.txt warns).
*/}}
{{- define "harbormaster.webhookOwnHarborCredentials" -}}
{{- $own := ((.Values.webhook.harbor | default dict).credentials | default dict) -}}
{{- if or $own.username $own.existingSecret (include "harbormaster.webhookRobot" .) }}true{{ end -}}
{{- end -}}
{{/* webhook.harbor.provisionRobot in effect: the operator writes the webhook's Secret. */}}
{{- define "harbormaster.webhookRobot" -}}
{{- if and .Values.harbor.url .Values.webhook.enabled ((.Values.webhook.harbor | default dict).provisionRobot) }}true{{ end -}}
{{- end -}}
{{/* The RobotAccount (cluster-scoped, so the namespace is in its name). */}}
{{- define "harbormaster.webhookRobotName" -}}
{{- printf "%s-%s-webhook" .Release.Namespace (include "harbormaster.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "harbormaster.webhookHarborSecretName" -}}
{{- include "harbormaster.fullname" . }}-webhook-harbor
{{- end -}}
{{- define "harbormaster.harborCredentials" -}}
{{- $root := .root -}}
{{- if and (eq .component "webhook") (include "harbormaster.webhookRobot" $root) -}}
{{- /* The whole Secret (username, password, registry), optional until the operator writes it. */ -}}
{{- toYaml (dict "secret" (include "harbormaster.webhookHarborSecretName" $root) "whole" true) -}}
{{- else if and (eq .component "webhook") (include "harbormaster.webhookOwnHarborCredentials" $root) -}}
{{- $own := $root.Values.webhook.harbor.credentials -}}
{{- toYaml (dict "secret" (default (include "harbormaster.webhookHarborSecretName" $root) $own.existingSecret) "key" (default "credentials" $own.existingSecretKey)) -}}
{{- else if or $root.Values.harbor.credentials.existingSecret $root.Values.harbor.credentials.username -}}
{{- toYaml (dict "secret" (include "harbormaster.harborSecretName" $root) "key" $root.Values.harbor.credentials.existingSecretKey) -}}
{{- end -}}
{{- end -}}

{{- define "harbormaster.harborArgs" -}}
{{- $root := .root -}}
{{- $creds := include "harbormaster.harborCredentials" . | fromYaml -}}
{{- if $root.Values.harbor.url }}
- --harbor-url={{ $root.Values.harbor.url }}
{{- if or $root.Values.harbor.caBundle $root.Values.harbor.existingCaConfigMap }}
- --harbor-ca=/etc/harbormaster/harbor-ca/ca.crt
{{- end }}
{{- if $creds.whole }}
- --harbor-credentials-file=/etc/harbormaster/harbor
{{- else if $creds.secret }}
- --harbor-credentials-file=/etc/harbormaster/harbor/credentials
{{- end }}
{{- range $root.Values.harbor.registryHosts }}
- --registry-host={{ . }}
{{- end }}
{{- with $root.Values.harbor.rateLimit }}
- --harbor-rate-limit={{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "harbormaster.harborMounts" -}}
{{- $root := .root -}}
{{- $creds := include "harbormaster.harborCredentials" . | fromYaml -}}
{{- if and $root.Values.harbor.url (or $root.Values.harbor.caBundle $root.Values.harbor.existingCaConfigMap) }}
- name: harbor-ca
  mountPath: /etc/harbormaster/harbor-ca
  readOnly: true
{{- end }}
{{- if and $root.Values.harbor.url $creds.secret }}
- name: harbor-credentials
  mountPath: /etc/harbormaster/harbor
  readOnly: true
{{- end }}
{{- end -}}

{{- define "harbormaster.harborVolumes" -}}
{{- $root := .root -}}
{{- $creds := include "harbormaster.harborCredentials" . | fromYaml -}}
{{- if and $root.Values.harbor.url (or $root.Values.harbor.caBundle $root.Values.harbor.existingCaConfigMap) }}
- name: harbor-ca
  configMap:
    name: {{ include "harbormaster.harborCaName" $root }}
    items: [{key: ca.crt, path: ca.crt}]
{{- end }}
{{- if and $root.Values.harbor.url $creds.secret }}
- name: harbor-credentials
  secret:
    secretName: {{ $creds.secret }}
    defaultMode: 0440
    {{- if $creds.whole }}
    # Written by the operator after the webhook may have started: mounted when it appears, and
    # updated in place on rotation (the webhook re-reads it).
    optional: true
    {{- else }}
    items: [{key: {{ $creds.key | quote }}, path: credentials}]
    {{- end }}
{{- end }}
{{- end -}}

{{/*
Public keys and trusted roots that policies name (webhook.signatureSources), mounted into the
webhook and the operator alike: the operator loads each policy with the files the webhook
enforces it with, so a policy whose file is missing is Ready=False, never reported in force.
*/}}
{{- define "harbormaster.signatureMounts" -}}
{{- range .Values.webhook.signatureSources }}
- name: signatures-{{ .name }}
  mountPath: /etc/harbormaster/signatures/{{ .name }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "harbormaster.signatureVolumes" -}}
{{- range .Values.webhook.signatureSources }}
- name: signatures-{{ .name }}
  {{- if .secret }}
  secret:
    secretName: {{ .secret }}
  {{- else }}
  configMap:
    name: {{ .configMap }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The webhook configurations' namespaceSelector: the cluster's own namespaces and Harbormaster's
never depend on Harbormaster being up; plus the user's exclusions and expressions.
*/}}
{{- define "harbormaster.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      - kube-system
      - kube-node-lease
      - {{ .Release.Namespace }}
      {{- range .Values.webhook.excludeNamespaces }}
      - {{ . }}
      {{- end }}
  {{- with .Values.webhook.namespaceSelectorExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
The caBundle a webhook configuration renders with (dict "root" . "kind" KIND "webhook" NAME).
Self-managed: what the live object holds (the webhook injects it at run time), so neither
`helm upgrade` nor a `kubectl replace` of the manifest blanks it. existingSecret: the given CA.
cert-manager: nothing (its cainjector sets it).
*/}}
{{- define "harbormaster.caBundle" -}}
{{- $root := .root }}
{{- $mode := $root.Values.certificates.mode }}
{{- if eq $mode "selfManaged" }}
{{- $live := lookup "admissionregistration.k8s.io/v1" .kind "" (include "harbormaster.webhookName" $root) }}
{{- if $live }}
{{- range $live.webhooks }}
{{- if and (eq .name $.webhook) .clientConfig.caBundle }}
{{- .clientConfig.caBundle }}
{{- end }}
{{- end }}
{{- end }}
{{- else if eq $mode "existingSecret" }}
{{- required "certificates.existingSecret.caBundle (PEM) is required when certificates.mode is existingSecret" $root.Values.certificates.existingSecret.caBundle | b64enc }}
{{- end }}
{{- end -}}

{{/*
"true" when the mutating webhook is installed: webhook.mutating.enabled, or a `policies` value
with digest: Pin (policies applied with kubectl are not seen here: set the value for them).
*/}}
{{- define "harbormaster.mutating" -}}
{{- $on := .Values.webhook.mutating.enabled }}
{{- range .Values.policies }}
{{- if and .spec (eq (toString (.spec.digest | default "")) "Pin") }}
{{- $on = true }}
{{- end }}
{{- end }}
{{- if and .Values.webhook.enabled $on }}true{{ end }}
{{- end -}}

{{/*
The operator's own files: the notifications secret Harbor sends (operator.notifications) and
the certificate of its port (operator.tls).
*/}}
{{- define "harbormaster.eventsSecretName" -}}
{{- default (printf "%s-harbor-events" (include "harbormaster.operatorName" .)) .Values.operator.notifications.existingSecret -}}
{{- end -}}

{{- define "harbormaster.operatorMounts" -}}
{{- if .Values.operator.notifications.url }}
- name: harbor-events
  mountPath: /etc/harbormaster/events
  readOnly: true
{{- end }}
{{- if .Values.operator.tls.secretName }}
- name: tls
  mountPath: /etc/harbormaster/tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "harbormaster.operatorVolumes" -}}
{{- if .Values.operator.notifications.url }}
- name: harbor-events
  secret:
    secretName: {{ include "harbormaster.eventsSecretName" . }}
    defaultMode: 0440
    items: [{key: secret, path: secret}]
{{- end }}
{{- if .Values.operator.tls.secretName }}
- name: tls
  secret:
    secretName: {{ .Values.operator.tls.secretName }}
    defaultMode: 0440
    items: [{key: tls.crt, path: tls.crt}, {key: tls.key, path: tls.key}]
{{- end }}
{{- end -}}
