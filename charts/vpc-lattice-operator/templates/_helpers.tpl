{{/* The chart name, or nameOverride. */}}
{{- define "vpc-lattice-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every object: fullnameOverride, else <release>-<name> (just <release> when it
already contains the name). Truncated to 63 characters (the DNS label limit).
*/}}
{{- define "vpc-lattice-operator.fullname" -}}
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
The name of the release's objects outside its namespace: the cluster-scoped ones (ClusterRole,
ClusterRoleBinding, ValidatingAdmissionPolicy and its binding) and those in the watched namespace
(Role, RoleBinding) or the dashboard's: `<release namespace>.<full name>`. A release makes at most one
object of each kind there, and a namespace name holds no dot, so two releases get the same name only
when they share both namespace and full name (when their Deployments would collide too), whatever
dots and dashes their names hold.
*/}}
{{- define "vpc-lattice-operator.qualifiedName" -}}
{{- printf "%s.%s" .Release.Namespace (include "vpc-lattice-operator.fullname" .) }}
{{- end }}

{{/* The name of the leader Lease (`--leader-election-id`): one per release, so releases may share a namespace. */}}
{{- define "vpc-lattice-operator.leaseName" -}}
{{- printf "%s-leader" (include "vpc-lattice-operator.fullname" .) }}
{{- end }}

{{/* clusterName, which has no default. */}}
{{- define "vpc-lattice-operator.clusterName" -}}
{{- required "clusterName is required: the name of this cluster, written to the vpclattice.operator.dev/cluster tag of every association and used by the tag-scoped IAM policy; give each cluster that shares an AWS account its own" .Values.clusterName }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "vpc-lattice-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels selecting the operator's Pods (never change them: Deployment selectors are immutable). */}}
{{- define "vpc-lattice-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vpc-lattice-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object: the recommended ones, then commonLabels. */}}
{{- define "vpc-lattice-operator.labels" -}}
helm.sh/chart: {{ include "vpc-lattice-operator.chart" . }}
{{ include "vpc-lattice-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: vpc-lattice-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The labels of the `helm test` Pod: the release's, without `app.kubernetes.io/name`, so that no
selector of the operator's Pods (Service, PodDisruptionBudget) matches it. */}}
{{- define "vpc-lattice-operator.testLabels" -}}
{{- $labels := include "vpc-lattice-operator.labels" . | fromYaml }}
{{- $_ := unset $labels "app.kubernetes.io/name" }}
{{- $_ := set $labels "app.kubernetes.io/component" "helm-test" }}
{{- toYaml $labels }}
{{- end }}

{{/* The ServiceAccount the Pods run as. */}}
{{- define "vpc-lattice-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vpc-lattice-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag, or registry/repository@digest when a digest is given. */}}
{{- define "vpc-lattice-operator.image" -}}
{{- $repo := .Values.image.repository }}
{{- $global := .Values.global | default dict }}
{{- with (default .Values.image.registry $global.imageRegistry) }}
{{- $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/* host:port of the admin server; an IPv6 host is bracketed. */}}
{{- define "vpc-lattice-operator.adminAddr" -}}
{{- $host := .Values.admin.bindAddress | toString }}
{{- if and (contains ":" $host) (not (hasPrefix "[" $host)) }}
{{- $host = printf "[%s]" $host }}
{{- end }}
{{- printf "%s:%d" $host (int .Values.admin.port) }}
{{- end }}

{{/* The label matchers of the operator's series in alerts. */}}
{{- define "vpc-lattice-operator.alertSelector" -}}
{{- if .Values.prometheusRule.selector }}
{{- .Values.prometheusRule.selector }}
{{- else }}
{{- printf "job=%q,namespace=%q" (include "vpc-lattice-operator.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{/* The RBAC rules of the operator in the namespaces it watches (see rbac.yaml). */}}
{{- define "vpc-lattice-operator.operatorRules" -}}
- apiGroups: ["vpclattice.operator.dev"]
  resources: ["servicenetworkserviceassociations"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["vpclattice.operator.dev"]
  resources: ["servicenetworkserviceassociations/status"]
  verbs: ["patch", "update"]
- apiGroups: ["vpclattice.operator.dev"]
  resources: ["servicenetworkserviceassociations/finalizers"]
  verbs: ["update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/* An alert's labels: its severity, then prometheusRule.alertLabels. Takes (dict "root" $ "severity" S). */}}
{{- define "vpc-lattice-operator.alertLabels" -}}
severity: {{ .severity }}
{{- with .root.Values.prometheusRule.alertLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* An alert's runbook_url annotation (a new line indented for prometheusrule.yaml), when prometheusRule.runbookUrl is set. Takes (dict "root" $ "alert" NAME). */}}
{{- define "vpc-lattice-operator.runbook" -}}
{{- with .root.Values.prometheusRule.runbookUrl }}
{{- printf "runbook_url: %q" (printf "%s#%s" . (lower $.alert)) | nindent 12 }}
{{- end }}
{{- end }}
