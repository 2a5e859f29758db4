package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// everyKindManifest holds one object of every built-in kind kubectl get
// prints with its own columns (and a few that print the default NAME and
// CREATED AT). CSR_REQUEST is replaced with a real certificate request.
const everyKindManifest = `apiVersion: v1
kind: ConfigMap
metadata: {name: t-cm}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: t-secret}
stringData: {a: "1"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: t-sa}
---
apiVersion: v1
kind: Service
metadata: {name: t-svc}
spec:
  selector: {app: t}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: t-ep}
subsets:
- addresses: [{ip: 10.1.0.1}, {ip: 10.1.0.2}, {ip: 10.1.0.3}, {ip: 10.1.0.4}, {ip: 10.1.0.5}]
  ports: [{port: 80}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: t-limits}
spec:
  limits:
  - type: Container
    default: {cpu: 500m}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: t-quota}
spec:
  hard: {pods: "10"}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: t-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/t-pv}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: t-pvc}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: t-podtemplate}
template:
  metadata: {labels: {app: t}}
  spec:
    containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: t-rc}
spec:
  replicas: 1
  selector: {app: t-rc}
  template:
    metadata: {labels: {app: t-rc}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: Pod
metadata: {name: t-pod}
spec:
  containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: Node
metadata:
  name: t-node
  labels: {node-role.kubernetes.io/worker: ""}
---
apiVersion: v1
kind: Event
metadata: {name: t-event}
involvedObject: {kind: Pod, name: t-pod, namespace: default}
reason: Testing
message: hello
type: Normal
source: {component: e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: t-deploy}
spec:
  selector: {matchLabels: {app: t-deploy}}
  template:
    metadata: {labels: {app: t-deploy}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: t-rs}
spec:
  selector: {matchLabels: {app: t-rs}}
  template:
    metadata: {labels: {app: t-rs}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: t-sts}
spec:
  serviceName: t-svc
  selector: {matchLabels: {app: t-sts}}
  template:
    metadata: {labels: {app: t-sts}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: t-ds}
spec:
  selector: {matchLabels: {app: t-ds}}
  template:
    metadata: {labels: {app: t-ds}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: ControllerRevision
metadata: {name: t-cr}
revision: 1
data: {}
---
apiVersion: batch/v1
kind: Job
metadata: {name: t-job}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: t-cj}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox:1.36}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: t-hpa}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: t-deploy}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: t-pdb}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: t}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: t-role}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: t-rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: t-role}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: t-clusterrole}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: t-crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: t-clusterrole}
subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: t-sc
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/none
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: t.csi.example.com}
spec: {}
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: t-node}
spec:
  drivers: []
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata: {name: t-csc}
storageClassName: t-sc
capacity: 10Gi
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: t-va}
spec:
  attacher: t.csi.example.com
  nodeName: t-node
  source: {persistentVolumeName: t-pv}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: t-ingclass}
spec: {controller: example.com/ingress}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: t-ing}
spec:
  ingressClassName: t-ingclass
  rules:
  - host: t.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: t-svc, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: t-netpol}
spec:
  podSelector: {}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: t-lease}
spec: {holderIdentity: someone}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: t-eps}
addressType: IPv4
endpoints: [{addresses: [10.1.0.1]}]
ports: [{port: 80}]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: t-pc}
value: 1000
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: t-rtc}
handler: runc
---
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: t-csr}
spec:
  request: CSR_REQUEST
  signerName: example.com/e2e
  usages: [client auth]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: t-mwc}
webhooks: []
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: t-vwc}
webhooks: []
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: t-vap}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  validations: [{expression: "true"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: t-vapb}
spec:
  policyName: t-vap
  validationActions: [Deny]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.e2e.skiff.dev}
spec:
  group: e2e.skiff.dev
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
`

// columnSplit separates kubectl's table columns (padded with at least
// three spaces; names have at most single spaces inside).
var columnSplit = regexp.MustCompile(`\s{2,}`)

// headerOf returns the column names of kubectl's table output.
func headerOf(out string) []string {
	ls := lines(out)
	if len(ls) == 0 {
		return nil
	}
	return columnSplit.Split(strings.TrimSpace(ls[0]), -1)
}

// certificateRequest returns a PEM certificate request, base64-encoded as a
// CertificateSigningRequest's spec.request.
func certificateRequest(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "e2e"}}, key)
	if err != nil {
		t.Fatalf("create certificate request: %v", err)
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestGetColumns creates one object of every built-in kind and compares the
// headers kubectl get prints, with and without -o wide, to those a v1.32
// cluster prints.
func TestGetColumns(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	manifest := strings.Replace(everyKindManifest, "CSR_REQUEST", certificateRequest(t), 1)
	c.mustKubectl(t, "create", "-f", writeManifest(t, "every-kind.yaml", manifest))

	wideOf := func(cols ...string) []string { return cols }
	tests := []struct {
		resource, name string
		want           []string // header without -o wide
		wantWide       []string // header with -o wide; nil when the same
		wantRow        string   // regexp of the row without -o wide (optional)
	}{
		{"pods", "t-pod", []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
			wideOf("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
			`^t-pod\s+0/1\s+Pending\s+0\s+\S+$`},
		{"podtemplates", "t-podtemplate", []string{"NAME", "CONTAINERS", "IMAGES", "POD LABELS"}, nil,
			`^t-podtemplate\s+c\s+busybox:1\.36\s+app=t$`},
		{"replicationcontrollers", "t-rc", []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			wideOf("NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
			`^t-rc\s+1\s+[01]\s+0\s+\S+$`},
		{"services", "t-svc", []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
			wideOf("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"),
			`^t-svc\s+ClusterIP\s+\d+\.\d+\.\d+\.\d+\s+<none>\s+80/TCP\s+\S+$`},
		{"endpoints", "t-ep", []string{"NAME", "ENDPOINTS", "AGE"}, nil,
			`^t-ep\s+10\.1\.0\.1:80,10\.1\.0\.2:80,10\.1\.0\.3:80 \+ 2 more\.\.\.\s+\S+$`},
		{"nodes", "t-node", []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"},
			wideOf("NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
			`^t-node\s+Unknown\s+worker\s+\S+$`},
		{"namespaces", "default", []string{"NAME", "STATUS", "AGE"}, nil, `^default\s+Active\s+\S+$`},
		{"configmaps", "t-cm", []string{"NAME", "DATA", "AGE"}, nil, `^t-cm\s+1\s+\S+$`},
		{"secrets", "t-secret", []string{"NAME", "TYPE", "DATA", "AGE"}, nil, `^t-secret\s+Opaque\s+1\s+\S+$`},
		{"serviceaccounts", "t-sa", []string{"NAME", "SECRETS", "AGE"}, nil, `^t-sa\s+0\s+\S+$`},
		{"limitranges", "t-limits", []string{"NAME", "CREATED AT"}, nil, `^t-limits\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`},
		{"resourcequotas", "t-quota", []string{"NAME", "AGE", "REQUEST", "LIMIT"}, nil, ""},
		{"persistentvolumes", "t-pv",
			[]string{"NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"},
			wideOf("NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE", "VOLUMEMODE"),
			`^t-pv\s+1Gi\s+RWO\s+Retain\s+\S+\s+<unset>\s+\S+$`},
		{"persistentvolumeclaims", "t-pvc",
			[]string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"},
			wideOf("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE", "VOLUMEMODE"), ""},
		{"events", "t-event", []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"},
			wideOf("LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"),
			`^\S+\s+Normal\s+Testing\s+pod/t-pod\s+hello$`},
		{"events.events.k8s.io", "t-event", []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"},
			wideOf("LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"),
			`^\S+\s+Normal\s+Testing\s+pod/t-pod\s+hello$`},
		{"deployments", "t-deploy", []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
			wideOf("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
			`^t-deploy\s+0/1\s+[01]\s+0\s+\S+$`},
		{"replicasets", "t-rs", []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			wideOf("NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"), `^t-rs\s+1\s+[01]\s+0\s+\S+$`},
		{"statefulsets", "t-sts", []string{"NAME", "READY", "AGE"}, wideOf("NAME", "READY", "AGE", "CONTAINERS", "IMAGES"), `^t-sts\s+0/1\s+\S+$`},
		{"daemonsets", "t-ds", []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"},
			wideOf("NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
			`^t-ds\s+0\s+0\s+0\s+0\s+0\s+<none>\s+\S+$`},
		{"controllerrevisions", "t-cr", []string{"NAME", "CONTROLLER", "REVISION", "AGE"}, nil, `^t-cr\s+<none>\s+1\s+\S+$`},
		{"jobs", "t-job", []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"},
			wideOf("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"), ""},
		{"cronjobs", "t-cj", []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"},
			wideOf("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
			`^t-cj\s+0 3 \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\S+$`},
		{"horizontalpodautoscalers", "t-hpa", []string{"NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"}, nil,
			`^t-hpa\s+Deployment/t-deploy\s+cpu: <unknown>/50%\s+1\s+3\s+0\s+\S+$`},
		{"horizontalpodautoscalers.v1.autoscaling", "t-hpa", []string{"NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"}, nil,
			`^t-hpa\s+Deployment/t-deploy\s+cpu: <unknown>/50%\s+1\s+3\s+0\s+\S+$`},
		{"poddisruptionbudgets", "t-pdb", []string{"NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"}, nil,
			`^t-pdb\s+1\s+N/A\s+0\s+\S+$`},
		{"roles", "t-role", []string{"NAME", "CREATED AT"}, nil, ""},
		{"clusterroles", "t-clusterrole", []string{"NAME", "CREATED AT"}, nil, ""},
		{"rolebindings", "t-rb", []string{"NAME", "ROLE", "AGE"}, wideOf("NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"),
			`^t-rb\s+Role/t-role\s+\S+$`},
		{"clusterrolebindings", "t-crb", []string{"NAME", "ROLE", "AGE"}, wideOf("NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"),
			`^t-crb\s+ClusterRole/t-clusterrole\s+\S+$`},
		{"storageclasses", "t-sc", []string{"NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"}, nil,
			`^t-sc \(default\)\s+example\.com/none\s+Delete\s+Immediate\s+false\s+\S+$`},
		{"csidrivers", "t.csi.example.com", []string{"NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES", "AGE"}, nil, ""},
		{"csinodes", "t-node", []string{"NAME", "DRIVERS", "AGE"}, nil, `^t-node\s+0\s+\S+$`},
		{"csistoragecapacities", "t-csc", []string{"NAME", "STORAGECLASSNAME", "CAPACITY"}, nil, `^t-csc\s+t-sc\s+10Gi$`},
		{"volumeattachments", "t-va", []string{"NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"}, nil,
			`^t-va\s+t\.csi\.example\.com\s+t-pv\s+t-node\s+false\s+\S+$`},
		{"ingressclasses", "t-ingclass", []string{"NAME", "CONTROLLER", "PARAMETERS", "AGE"}, nil, `^t-ingclass\s+example\.com/ingress\s+<none>\s+\S+$`},
		{"ingresses", "t-ing", []string{"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"}, nil, `^t-ing\s+t-ingclass\s+t\.example\.com\s+80\s+\S+$`},
		{"networkpolicies", "t-netpol", []string{"NAME", "POD-SELECTOR", "AGE"}, nil, `^t-netpol\s+<none>\s+\S+$`},
		{"leases", "t-lease", []string{"NAME", "HOLDER", "AGE"}, nil, `^t-lease\s+someone\s+\S+$`},
		{"endpointslices", "t-eps", []string{"NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"}, nil, `^t-eps\s+IPv4\s+80\s+10\.1\.0\.1\s+\S+$`},
		{"priorityclasses", "t-pc", []string{"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"}, nil, ""},
		{"runtimeclasses", "t-rtc", []string{"NAME", "HANDLER", "AGE"}, nil, `^t-rtc\s+runc\s+\S+$`},
		{"certificatesigningrequests", "t-csr", []string{"NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"}, nil,
			`^t-csr\s+\S+\s+example\.com/e2e\s+system:admin\s+<none>\s+Pending$`},
		{"mutatingwebhookconfigurations", "t-mwc", []string{"NAME", "WEBHOOKS", "AGE"}, nil, `^t-mwc\s+0\s+\S+$`},
		{"validatingwebhookconfigurations", "t-vwc", []string{"NAME", "WEBHOOKS", "AGE"}, nil, `^t-vwc\s+0\s+\S+$`},
		{"validatingadmissionpolicies", "t-vap", []string{"NAME", "VALIDATIONS", "PARAMKIND", "AGE"}, nil, `^t-vap\s+1\s+<unset>\s+\S+$`},
		{"validatingadmissionpolicybindings", "t-vapb", []string{"NAME", "POLICYNAME", "PARAMREF", "AGE"}, nil, `^t-vapb\s+t-vap\s+<unset>\s+\S+$`},
		{"customresourcedefinitions", "widgets.e2e.skiff.dev", []string{"NAME", "CREATED AT"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.resource, func(t *testing.T) {
			out := c.mustKubectl(t, "get", tc.resource, tc.name)
			if got := headerOf(out); !slices.Equal(got, tc.want) {
				t.Errorf("header = %q, want %q", got, tc.want)
			}
			rows := lines(out)[1:]
			if len(rows) != 1 {
				t.Fatalf("want one row, got %q", rows)
			}
			// Empty trailing cells leave trailing spaces.
			if row := strings.TrimRight(rows[0], " "); tc.wantRow != "" && !regexp.MustCompile(tc.wantRow).MatchString(row) {
				t.Errorf("row = %q, want it to match %s", row, tc.wantRow)
			}
			wantWide := tc.wantWide
			if wantWide == nil {
				wantWide = tc.want
			}
			if got := headerOf(c.mustKubectl(t, "get", tc.resource, tc.name, "-o", "wide")); !slices.Equal(got, wantWide) {
				t.Errorf("-o wide header = %q, want %q", got, wantWide)
			}
		})
	}

	t.Run("get events lists events of several objects", func(t *testing.T) {
		out := c.mustKubectl(t, "get", "events")
		if got, want := headerOf(out), []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}; !slices.Equal(got, want) {
			t.Errorf("header = %q, want %q", got, want)
		}
		if !regexp.MustCompile(`(?m)^\S+\s+Normal\s+Testing\s+pod/t-pod\s+hello$`).MatchString(out) {
			t.Errorf("no row for t-event in:\n%s", out)
		}
	})
}

// TestListFlags covers the flags that shape kubectl get's table: sort,
// labels as a column or columns, field selectors on pod fields.
func TestListFlags(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "create", "namespace", "flags")
	for _, p := range []struct{ name, tier, rank string }{{"p-b", "back", "1"}, {"p-c", "front", "2"}, {"p-a", "front", "3"}} {
		c.mustKubectl(t, "run", p.name, "-n", "flags", "--image=busybox:1.36", "--labels=group=flags,tier="+p.tier+",rank="+p.rank)
	}
	c.mustKubectl(t, "patch", "pod", "p-c", "-n", "flags", "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"Running"}}`)

	tests := []struct {
		name string
		args []string
		want []string // stdout lines with runs of spaces collapsed and ages replaced by AGE
	}{
		{
			name: "--sort-by=.metadata.name",
			args: []string{"get", "pods", "--sort-by=.metadata.name"},
			want: []string{"NAME READY STATUS RESTARTS AGE", "p-a 0/1 Pending 0 AGE", "p-b 0/1 Pending 0 AGE", "p-c 0/1 Running 0 AGE"},
		},
		{
			name: "--sort-by=.metadata.labels.rank",
			args: []string{"get", "pods", "--sort-by=.metadata.labels.rank", "-o", "name"},
			want: []string{"pod/p-b", "pod/p-c", "pod/p-a"},
		},
		{
			name: "--show-labels",
			args: []string{"get", "pods", "p-a", "--show-labels"},
			want: []string{"NAME READY STATUS RESTARTS AGE LABELS", "p-a 0/1 Pending 0 AGE group=flags,rank=3,tier=front"},
		},
		{
			name: "-L adds label columns",
			args: []string{"get", "pods", "-l", "tier=front", "-L", "tier", "-L", "missing", "--sort-by=.metadata.name"},
			want: []string{"NAME READY STATUS RESTARTS AGE TIER MISSING", "p-a 0/1 Pending 0 AGE front", "p-c 0/1 Running 0 AGE front"},
		},
		{
			name: "--field-selector status.phase=Running",
			args: []string{"get", "pods", "--field-selector", "status.phase=Running"},
			want: []string{"NAME READY STATUS RESTARTS AGE", "p-c 0/1 Running 0 AGE"},
		},
		{
			name: "--field-selector status.phase!=Running,metadata.name!=p-a",
			args: []string{"get", "pods", "--field-selector", "status.phase!=Running,metadata.name!=p-a", "-o", "name"},
			want: []string{"pod/p-b"},
		},
	}
	age := regexp.MustCompile(`^\d+[smhd]$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range lines(c.mustKubectl(t, append([]string{"-n", "flags"}, tc.args...)...)) {
				fields := strings.Fields(l)
				for i, f := range fields {
					if age.MatchString(f) {
						fields[i] = "AGE"
					}
				}
				got = append(got, strings.Join(fields, " "))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stdout lines = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWatchPodTable follows `kubectl get pods -w`: rows are table rows that
// change as the pod's status does, RESTARTS saying when the last restart was.
func TestWatchPodTable(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "create", "namespace", "watch")
	w := c.kubectlBackground(t, "get", "pods", "-n", "watch", "-w")
	c.mustKubectl(t, "run", "w", "-n", "watch", "--image=busybox:1.36")
	w.waitForLine(t, mustCompile(t, `^w\s+0/1\s+Pending\s+0\s+\S+$`))

	finished := time.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339)
	status := fmt.Sprintf(`{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{
		"name":"w","image":"busybox:1.36","imageID":"","ready":true,"started":true,"restartCount":2,
		"state":{"running":{"startedAt":%q}},
		"lastState":{"terminated":{"exitCode":1,"startedAt":%q,"finishedAt":%q}}}]}}`, finished, finished, finished)
	c.mustKubectl(t, "patch", "pod", "w", "-n", "watch", "--subresource=status", "--type=merge", "-p", status)
	w.waitForLine(t, mustCompile(t, `^w\s+1/1\s+Running\s+2 \(\d+s ago\)\s+\S+$`))

	c.mustKubectl(t, "patch", "pod", "w", "-n", "watch", "--subresource=status", "--type=merge", "-p",
		`{"status":{"containerStatuses":[{"name":"w","image":"busybox:1.36","imageID":"","ready":false,"restartCount":3,
		"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}`)
	w.waitForLine(t, mustCompile(t, `^w\s+0/1\s+CrashLoopBackOff\s+3\s+\S+$`))
}
